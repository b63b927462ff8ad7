import ArgumentParser
import Foundation
import Logging
import SluiceCore
import SluiceEngine

/// `sluice eval run SUITE.yaml`.
struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Run eval suites: cases with expectations over prompt versions and models.",
        subcommands: [EvalRunCommand.self])
}

struct EvalRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run an eval suite through the gateway's pipeline and print a table per variant × model.",
        discussion: """
            Calls go through the gateway's own pipeline and are recorded as purpose PURPOSE:eval (eval for a prompt \
            suite, eval:judge for the judge), with the cache bypassed unless --cache is given.

            Exit status: 0 when the run holds its gates, 1 on a regression against --baseline or a pass rate below \
            --min-pass-rate, 2 when the suite or config cannot run.

            Examples:
              sluice eval run evals/triage.yaml
              sluice eval run evals/triage.yaml --variant v4 --min-pass-rate 0.95
              sluice eval run evals/triage.yaml --junit eval.xml --save-baseline base.json
              sluice eval run evals/triage.yaml --baseline base.json --max-cost-increase 10
            """)

    @OptionGroup var options: ConfigOption
    @Argument(help: "The suite file (YAML).") var suite: String
    @Option(name: .customLong("variant"), help: "Run only this variant (repeatable).") var variants: [String] = []
    @Option(name: .customLong("model"), help: "Run only this model (repeatable).") var models: [String] = []
    @Option(help: "Compare with a baseline saved by --save-baseline; exit 1 on a regression.") var baseline: String?
    @Option(help: "Save this run as a baseline file.") var saveBaseline: String?
    @Option(help: "With --baseline: the pass-rate drop (percentage points) allowed per variant × model.") var maxPassDrop: Double = 0
    @Option(help: "With --baseline: the growth (percent) of mean tokens or cost per run allowed.") var maxCostIncrease: Double = 10
    @Option(help: "Exit 1 when a variant × model passes fewer than this share of runs (0 to 1).") var minPassRate: Double?
    @Flag(help: "Print JSON instead of tables.") var json = false
    @Option(help: "Write a JUnit XML report to this file.") var junit: String?
    @Option(help: "Runs in flight at once.") var concurrency = 4
    @Flag(help: "Use the response cache (bypassed by default).") var cache = false
    @Option(help: "The progress bar on standard error: auto (when it is a terminal), always or never.") var progress = "auto"

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var h = JSONLogHandler(label: label, sink: .standardError)
            h.logLevel = ProcessInfo.processInfo.environment["SLUICE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
            return h
        }
        guard (1...256).contains(concurrency) else { throw Self.bad("--concurrency must be from 1 to 256") }
        if let m = minPassRate, !(0...1).contains(m) { throw Self.bad("--min-pass-rate must be a share from 0 to 1 (such as 0.95)") }
        guard ["auto", "always", "never"].contains(progress) else { throw Self.bad("--progress must be auto, always or never") }
        guard maxPassDrop >= 0, maxCostIncrease >= 0 else { throw Self.bad("--max-pass-drop and --max-cost-increase must not be negative") }
        let config = try loadConfigOrExit(options.config)
        let suite: EvalSuite
        do { suite = try EvalSuite.load(path: self.suite) } catch { throw Self.bad("eval suite \(self.suite): \(error)") }
        let prompts = try loadPromptsOrExit(config)
        var saved: EvalBaseline?
        if let baseline {
            do { saved = try EvalBaseline.load(path: baseline) } catch { throw Self.bad("\(error)") }
        }
        let logger = Logger(label: "sluice")
        let store = try await openStore(config, logger: logger)
        let gateway = Gateway(config: config, store: store, logger: logger, prompts: prompts)
        let report: EvalReport
        do {
            try await gateway.start()
            let plan: EvalPlan
            do {
                plan = try EvalPlan.make(
                    suite: suite, config: gateway.live.config, prompts: prompts, variants: variants, models: models)
            } catch { throw Self.bad("eval suite \(self.suite): \(error)") }
            let runner = EvalRunner(gateway: gateway, concurrency: concurrency, useCache: cache)
            let bar = ProgressBar(enabled: progress == "always" || (progress == "auto" && isatty(STDERR_FILENO) == 1))
            let background = GatewayBackground.start(gateway)
            bar.update(EvalProgress(done: 0, total: plan.totalRuns, failed: 0))
            let runs = await runner.run(plan) { bar.update($0) }
            bar.finish()
            await background.stop()
            report = EvalReport(plan: plan, runs: runs, runID: runner.runID)
            try? await gateway.shutdown()
            try? await store.close()
        } catch {
            try? await gateway.shutdown()
            try? await store.close()
            throw error
        }
        let comparison = saved.map { $0.compare(report, maxPassDrop: maxPassDrop, maxCostIncrease: maxCostIncrease) }
        var problems: [String] = []
        if let minPassRate {
            for row in report.rows where row.passRate < minPassRate - 1e-9 {
                problems.append(
                    "\(row.variant) × \(row.model): pass rate \(EvalFormat.percent(row.passRate)) is below --min-pass-rate \(EvalFormat.percent(minPassRate))")
            }
        }
        problems += comparison?.regressions ?? []
        if let junit {
            do { try Data(JUnitReport.xml(report).utf8).write(to: URL(fileURLWithPath: junit)) } catch {
                throw Self.bad("cannot write --junit \(junit): \(error)")
            }
        }
        if let saveBaseline {
            do { try EvalBaseline(report: report).write(to: saveBaseline) } catch {
                throw Self.bad("cannot write --save-baseline \(saveBaseline): \(error)")
            }
        }
        if json {
            var out = report.json.objectValue ?? JSONObject()
            out["baseline"] = comparison?.json ?? .null
            out["problems"] = .array(problems.map(JSON.string))
            out["ok"] = .bool(problems.isEmpty)
            print(JSON.object(out).jsonString)
        } else {
            print(
                EvalTable.render(
                    report, suite: suite, comparison: comparison, baselinePath: baseline, problems: problems, saved: saveBaseline,
                    junit: junit, gated: minPassRate != nil || saved != nil), terminator: "")
        }
        if !problems.isEmpty { throw ExitCode(1) }
    }

    /// Prints `message` and exits 2 (a suite or config that cannot run).
    static func bad(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("sluice: \(message)\n".utf8))
        return ExitCode(2)
    }
}
