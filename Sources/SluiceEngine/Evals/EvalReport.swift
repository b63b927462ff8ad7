import Foundation
import SluiceCore

/// The figures of one eval: one row per variant × model, and every run.
public struct EvalReport: Sendable {
    /// The suite's name.
    public var suite: String
    /// The purpose the calls ran as (`triage:eval`, `eval`).
    public var callPurpose: String
    /// The run id the calls carry.
    public var runID: String?
    /// Runs per case.
    public var repeatCount: Int
    /// One row per variant × model, in plan order.
    public var rows: [EvalRow]
    /// Every run, in plan order.
    public var runs: [EvalRun]

    /// Aggregates `runs` of `plan`.
    public init(plan: EvalPlan, runs: [EvalRun], runID: String? = nil) {
        suite = plan.suite.name
        callPurpose = plan.callPurpose
        self.runID = runID
        repeatCount = plan.suite.repeatCount
        self.runs = runs
        rows = plan.cells.map { cell in
            EvalRow(cell: cell, cases: plan.suite.cases.count, runs: runs.filter { $0.variant == cell.variant && $0.model == cell.model })
        }
    }

    /// The runs that failed a check.
    public var failures: [EvalRun] { runs.filter { !$0.passed } }

    /// The report as JSON: `suite`, `purpose`, `run_id`, `repeat`, `rows`, `runs`.
    public var json: JSON {
        [
            "suite": .string(suite), "purpose": .string(callPurpose), "run_id": runID.map(JSON.string) ?? .null,
            "repeat": .int(repeatCount), "rows": .array(rows.map(\.json)), "runs": .array(runs.map(\.json)),
        ]
    }
}

/// One variant × model's figures.
public struct EvalRow: Sendable {
    /// The variant.
    public var variant: String
    /// The prompt version it rendered.
    public var promptVersion: String
    /// The model.
    public var model: String
    /// Cases in the suite.
    public var cases: Int
    /// Runs (cases × repeat).
    public var runs: Int
    /// Runs that passed every check.
    public var passes: Int
    /// Runs whose call failed (no answer).
    public var errors: Int
    /// Runs that were answered (their tokens make the means).
    public var answered: Int
    /// Mean input tokens of answered runs.
    public var meanInputTokens: Double
    /// Mean output tokens of answered runs.
    public var meanOutputTokens: Double
    /// What every run cost; `nil` when no run was priced.
    public var costUSD: Double?
    /// What the judges cost.
    public var judgeCostUSD: Double
    /// Median latency in milliseconds.
    public var p50LatencyMs: Double?
    /// 95th percentile latency in milliseconds.
    public var p95LatencyMs: Double?
    /// The judges' scores; `nil` when no case is judged.
    public var judge: JudgeStats?
    /// Cases whose repeats disagree (some passed, some failed), by index.
    public var flakyCases: [Int]

    /// `passes / runs` (0 with no runs).
    public var passRate: Double { runs == 0 ? 0 : Double(passes) / Double(runs) }
    /// The mean cost of one run; `nil` when unpriced.
    public var costPerCaseUSD: Double? { costUSD.map { runs == 0 ? 0 : $0 / Double(runs) } }

    /// The row of `cell` from its runs.
    init(cell: EvalPlan.Cell, cases: Int, runs list: [EvalRun]) {
        variant = cell.variant
        promptVersion = cell.promptVersion
        model = cell.model
        self.cases = cases
        runs = list.count
        passes = list.filter(\.passed).count
        errors = list.filter { $0.error != nil }.count
        let answered = list.filter(\.answered)
        self.answered = answered.count
        meanInputTokens = EvalStats.mean(answered.map { Double($0.inputTokens) }) ?? 0
        meanOutputTokens = EvalStats.mean(answered.map { Double($0.outputTokens) }) ?? 0
        let costs = list.compactMap(\.costUSD)
        costUSD = costs.isEmpty ? nil : costs.reduce(0, +)
        judgeCostUSD = list.reduce(0) { $0 + $1.judgeCostUSD }
        let latencies = list.map(\.latencyMs)
        p50LatencyMs = ShadowComparison.percentile(latencies, 0.5)
        p95LatencyMs = ShadowComparison.percentile(latencies, 0.95)
        judge = JudgeStats(list)
        var flaky: [Int] = []
        for (index, group) in Dictionary(grouping: list, by: \.caseIndex).sorted(by: { $0.key < $1.key }) where group.count > 1 {
            if Set(group.map(\.passed)).count > 1 { flaky.append(index) }
        }
        flakyCases = flaky
    }

    /// The row as JSON.
    public var json: JSON {
        [
            "variant": .string(variant), "prompt_version": .string(promptVersion), "model": .string(model), "cases": .int(cases),
            "runs": .int(runs), "passes": .int(passes), "errors": .int(errors), "answered": .int(answered), "pass_rate": EvalStats.number(passRate, places: 4),
            "mean_input_tokens": EvalStats.number(meanInputTokens, places: 2), "mean_output_tokens": EvalStats.number(meanOutputTokens, places: 2),
            "cost_usd": EvalStats.number(costUSD, places: 8), "cost_per_case_usd": EvalStats.number(costPerCaseUSD, places: 8),
            "judge_cost_usd": EvalStats.number(judgeCostUSD, places: 8),
            "latency_ms": ["p50": EvalStats.number(p50LatencyMs, places: 1), "p95": EvalStats.number(p95LatencyMs, places: 1)],
            "judge": judge?.json ?? .null, "flaky_cases": .array(flakyCases.map(JSON.int)),
        ]
    }
}

/// The judges' scores of one row, and how much repeated judging of one case spreads.
public struct JudgeStats: Sendable, Equatable {
    /// Scores in all.
    public var count: Int
    /// The mean score.
    public var mean: Double
    /// The lowest score.
    public var min: Double
    /// The highest score.
    public var max: Double
    /// The largest standard deviation of one case's scores across its repeats (0 with `repeat: 1`).
    public var stddev: Double
    /// The largest range (max − min) of one case's scores across its repeats.
    public var spread: Double
    /// Per judged case and judge: the scores of its repeats.
    public var cases: [(caseIndex: Int, judge: Int, scores: [Double])]

    /// The stats of the judged runs in `runs`; `nil` when none was judged.
    init?(_ runs: [EvalRun]) {
        var byKey: [String: (Int, Int, [Double])] = [:]
        var all: [Double] = []
        for run in runs {
            for (n, check) in run.checks.filter({ $0.kind == "judge" }).enumerated() {
                guard let s = check.score else { continue }
                all.append(s)
                byKey["\(run.caseIndex)/\(n)", default: (run.caseIndex, n + 1, [])].2.append(s)
            }
        }
        guard !all.isEmpty else { return nil }
        count = all.count
        mean = EvalStats.mean(all) ?? 0
        min = all.min() ?? 0
        max = all.max() ?? 0
        cases = byKey.values.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map { (caseIndex: $0.0, judge: $0.1, scores: $0.2) }
        stddev = cases.map { EvalStats.stddev($0.scores) }.max() ?? 0
        spread = cases.map { ($0.scores.max() ?? 0) - ($0.scores.min() ?? 0) }.max() ?? 0
    }

    /// Equal figures (the per-case scores aside).
    public static func == (a: JudgeStats, b: JudgeStats) -> Bool {
        a.count == b.count && a.mean == b.mean && a.min == b.min && a.max == b.max && a.stddev == b.stddev
    }

    /// The stats as JSON.
    public var json: JSON {
        [
            "scores": .int(count), "mean": EvalStats.number(mean, places: 4), "min": EvalStats.number(min, places: 4),
            "max": EvalStats.number(max, places: 4), "stddev": EvalStats.number(stddev, places: 4),
            "spread": EvalStats.number(spread, places: 4),
            "cases": .array(
                cases.map {
                    [
                        "case": .int($0.caseIndex), "judge": .int($0.judge), "scores": .array($0.scores.map(JSON.double)),
                        "mean": EvalStats.number(EvalStats.mean($0.scores), places: 4),
                        "stddev": EvalStats.number(EvalStats.stddev($0.scores), places: 4),
                    ]
                }),
        ]
    }
}

/// Small statistics for eval reports.
enum EvalStats {
    static func mean(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    /// The population standard deviation (0 for fewer than two values).
    static func stddev(_ values: [Double]) -> Double {
        guard values.count > 1, let m = mean(values) else { return 0 }
        return (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count)).squareRoot()
    }

    /// `v` rounded to `places` decimals, as JSON; `null` for `nil`.
    static func number(_ v: Double?, places: Int) -> JSON { ShadowComparison.number(v, places: places) }
}
