import Foundation
import SluiceCore
import Testing

@testable import SluiceEngine

#if canImport(FoundationXML)
import FoundationXML
#endif

/// Eval suites: parsing, the plan, expectations, the report, baselines and JUnit.
struct EvalSuiteTests {
    static let suiteYAML = """
        name: triage-golden
        purpose: triage
        variants: [v3, v4]
        models: [fast, smart]
        repeat: 2
        cases:
          - name: swift
            vars: { ticket: "Swift engineer", n: 3 }
            expect:
              - equals:   { path: "$.label", value: "relevant" }
              - contains: ["Swift", "engineer"]
              - regex:    "^[A-Z]"
              - schema_valid: true
              - judge:    { rubric: "Is the label justified?", model: smart, min: 0.8 }
              - max_cost_usd: 0.002
              - max_latency_ms: 4000
          - vars: { ticket: "Cook" }
        """

    @Test func parsesASuiteWithEveryExpectation() throws {
        let s = try EvalSuite.parse(Self.suiteYAML)
        #expect(s.name == "triage-golden" && s.purpose == "triage" && s.prompt == nil)
        #expect(s.variants == ["v3", "v4"] && s.models == ["fast", "smart"] && s.repeatCount == 2)
        #expect(s.cases.count == 2)
        let c = s.cases[0]
        #expect(c.label == "case 1 (swift)" && s.cases[1].label == "case 2")
        #expect(c.vars["ticket"] == "Swift engineer" && c.vars["n"] == .int(3))
        #expect(c.expect.map(\.kind) == ["equals", "contains", "contains", "regex", "schema_valid", "judge", "max_cost_usd", "max_latency_ms"])
        #expect(c.expect[0] == .equals(path: try JSONPath("$.label"), value: "relevant"))
        #expect(c.expect[5] == .judge(JudgeSpec(rubric: "Is the label justified?", model: "smart", min: 0.8)))
        #expect(c.expect[6] == .maxCostUSD(0.002) && c.expect[7] == .maxLatencyMs(4000))
        #expect(s.cases[1].expect.isEmpty)
    }

    @Test func suiteErrorsNameTheKeyAndLine() {
        func error(_ yaml: String) -> String {
            do {
                _ = try EvalSuite.parse(yaml)
                return "no error"
            } catch { return "\(error)" }
        }
        let unknownKey = error("purpose: triage\ncases:\n  - vars: {a: 1}\n    expect:\n      - containz: x\n")
        #expect(unknownKey.contains("cases[0].expect[0].containz (line 5)") && unknownKey.contains("unknown key 'containz'"), "\(unknownKey)")
        let badPath = error("purpose: t\ncases:\n  - expect:\n      - equals: { path: \"label\", value: 1 }\n")
        #expect(badPath.contains("cases[0].expect[0].equals.path (line 4)") && badPath.contains("must start with '$'"), "\(badPath)")
        #expect(error("cases: [ {vars: {}} ]").contains("needs purpose: (a configured purpose) or prompt:"))
        #expect(error("purpose: a\nprompt: b\ncases: [ {} ]").contains("not both"))
        #expect(error("purpose: a\nrepeat: 0\ncases: [ {} ]").contains("repeat (line 2): repeat must be from 1 to 100"))
        #expect(error("purpose: a\ncases:\n  - expect:\n      - regex: \"([\"\n").contains("invalid regular expression"))
        #expect(error("purpose: a\ncases:\n  - expect:\n      - judge: { rubric: ok }\n").contains("judge needs model:"))
        #expect(error("purpose: a\ncases:\n  - expect:\n      - judge: { rubric: ok, model: m, min: 2 }\n").contains("min must be a score from 0 to 1"))
        #expect(error("purpose: a\n").contains("needs cases:"))
    }

    @Test func jsonPathsReadMembersAndElements() throws {
        let doc = try JSON.parse(#"{"a":{"b":[10,{"c d":"x"}]},"label":"ok"}"#)
        #expect(try JSONPath("$").read(doc) == doc)
        #expect(try JSONPath("$.label").read(doc) == "ok")
        #expect(try JSONPath("$.a.b[0]").read(doc) == .int(10))
        #expect(try JSONPath("$.a.b[-1]['c d']").read(doc) == "x")
        #expect(try JSONPath("$[\"a\"].b[1][\"c d\"]").read(doc) == "x")
        #expect(try JSONPath("$.a.b[2]").read(doc) == nil)
        #expect(try JSONPath("$.nope").read(doc) == nil)
        for bad in ["label", "$.", "$.a[", "$.a[x]", "$x", "$['a"] {
            #expect(throws: JSONPathError.self, "\(bad)") { try JSONPath(bad) }
        }
    }

    func run(_ output: String?, cost: Double? = 0.001, latency: Double = 100, schemaValid: Bool? = nil, error: String? = nil) -> EvalRun {
        var r = EvalRun(caseIndex: 1, variant: "v3", promptVersion: "v3", model: "fast", repetition: 1)
        r.output = output
        r.costUSD = cost
        r.latencyMs = latency
        r.schemaValid = schemaValid
        r.error = error
        return r
    }

    @Test func expectationsCheckAnswers() throws {
        let answer = run(#"Here it is: ```json\n{"label":"relevant","score":1.0,"tags":["a"]}\n```"#)
        func check(_ e: EvalExpectation, _ r: EvalRun) -> CheckResult { e.check(r) }
        #expect(check(.equals(path: try JSONPath("$.label"), value: "relevant"), answer).passed)
        // JSON equality: numbers by value.
        #expect(check(.equals(path: try JSONPath("$.score"), value: .int(1)), answer).passed)
        #expect(check(.equals(path: try JSONPath("$.tags"), value: ["a"]), answer).passed)
        let wrong = check(.equals(path: try JSONPath("$.label"), value: "spam"), answer)
        #expect(!wrong.passed && wrong.message == #"$.label is "relevant", expected "spam""#, "\(wrong)")
        let missing = check(.equals(path: try JSONPath("$.labels[0]"), value: "x"), answer)
        #expect(missing.message?.contains("$ has no member 'labels' (members: label, score, tags)") == true, "\(missing)")
        let notJSON = check(.equals(path: try JSONPath("$.label"), value: "x"), run("plain words"))
        #expect(notJSON.message?.contains("contains no JSON") == true)

        #expect(check(.contains("relevant"), answer).passed)
        #expect(!check(.contains("Relevant"), answer).passed)
        #expect(check(.regex("^Here"), answer).passed)
        #expect(check(.regex("(?i)^HERE"), answer).passed)
        #expect(!check(.regex("^here"), answer).passed)

        #expect(check(.schemaValid(true), run("{}", schemaValid: true)).passed)
        let invalid = check(.schemaValid(true), run("{}", schemaValid: false, error: "missing label"))
        #expect(!invalid.passed && invalid.message?.contains("missing label") == true)
        #expect(check(.schemaValid(false), run("{}", schemaValid: false)).passed)

        #expect(check(.maxCostUSD(0.001), run("x", cost: 0.001)).passed)
        let pricey = check(.maxCostUSD(0.0005), run("x", cost: 0.001))
        #expect(!pricey.passed && pricey.message == "cost $0.001 is over $0.0005", "\(pricey)")
        #expect(check(.maxCostUSD(1), run("x", cost: nil)).message?.contains("unknown") == true)
        #expect(check(.maxLatencyMs(150), run("x", latency: 120)).passed)
        #expect(check(.maxLatencyMs(100), run("x", latency: 120)).message == "latency 120 ms is over 100 ms")
    }

    static func prompts(_ versions: [String], _ schema: Bool) throws -> PromptLibrary {
        try PromptLibrary(
            prompts: versions.map { v in
                try PromptLoader.parse(
                    """
                    name: triage
                    version: \(v)
                    \(schema ? "output_schema: { type: object, required: [label] }" : "")
                    messages:
                      - { role: user, content: "Ticket: {{ticket}}" }
                    """, path: "prompts/triage/\(v).prompt.yaml", expectedName: "triage", expectedVersion: v)
            })
    }

    static func config(_ extra: String = "") throws -> SluiceConfig {
        try ConfigLoader.parse(
            """
            providers: { sim: { type: simulated } }
            models:
              fast: { targets: [ { provider: sim, model: sim-small } ] }
              smart: { targets: [ { provider: sim, model: sim-large } ] }
            purposes:
              triage: { prompt: triage, model: fast, variants: { canary: { percent: 10, prompt_version: v4, model: smart } } }
            \(extra)
            """, environment: [:])
    }

    @Test func thePlanResolvesVariantsArmsAndModels() throws {
        let lib = try Self.prompts(["v3", "v4"], false)
        var suite = try EvalSuite.parse("purpose: triage\ncases:\n  - vars: { ticket: t }\n")
        var plan = try EvalPlan.make(suite: suite, config: try Self.config(), prompts: lib)
        // Default: the live version (the highest) and the purpose's model.
        #expect(plan.cells == [.init(variant: "live", promptVersion: "v4", model: "fast", hasSchema: false)])
        #expect(plan.callPurpose == "triage:eval")

        suite.variants = ["v3", "canary"]
        suite.models = []
        plan = try EvalPlan.make(suite: suite, config: try Self.config(), prompts: lib)
        #expect(plan.cells.map { "\($0.variant)/\($0.promptVersion)/\($0.model)" } == ["v3/v3/fast", "canary/v4/smart"])

        suite.models = ["fast", "smart"]
        plan = try EvalPlan.make(suite: suite, config: try Self.config(), prompts: lib, variants: ["v3"])
        #expect(plan.cells.map { "\($0.variant)/\($0.model)" } == ["v3/fast", "v3/smart"])
        #expect(plan.totalRuns == 2)

        func problem(_ s: EvalSuite, variants: [String] = [], models: [String] = []) -> String {
            do {
                _ = try EvalPlan.make(suite: s, config: try Self.config(), prompts: lib, variants: variants, models: models)
                return "no error"
            } catch { return "\(error)" }
        }
        #expect(problem(suite, variants: ["v9"]).contains("--variant v9 is not in the suite's variants: v3, canary"))
        var other = suite
        other.variants = ["v9"]
        #expect(problem(other).contains("prompt 'triage' has no version 'v9'; versions: v3, v4"))
        other = suite
        other.models = ["huge"]
        #expect(problem(other).contains("unknown model 'huge'"))
        other = suite
        other.cases = [EvalCase(index: 1, vars: [:])]
        #expect(problem(other).contains("case 1: vars lack ticket"))
        other = suite
        other.cases[0].expect = [.judge(JudgeSpec(rubric: "r", model: "oracle"))]
        #expect(problem(other).contains("judge model 'oracle' is not configured"))
        other.cases[0].expect = [.schemaValid(true)]
        #expect(problem(other).contains("schema_valid needs an output schema"))
        other.purpose = "nope"
        #expect(problem(other).contains("unknown purpose 'nope'; configured purposes: triage"))
        let prompt = EvalSuite(name: "p", prompt: "triage", cases: [EvalCase(index: 1, vars: ["ticket": "t"])])
        #expect(problem(prompt).contains("no model for triage@v4"))
        var withModel = prompt
        withModel.model = "smart"
        plan = try EvalPlan.make(suite: withModel, config: try Self.config(), prompts: try Self.prompts(["v3"], true))
        #expect(plan.callPurpose == "eval" && plan.cells == [.init(variant: "live", promptVersion: "v3", model: "smart", hasSchema: true)])
    }

    /// A report of two cells from hand-made runs: v3 passes everything, v4 fails case 2 once.
    static func report(v4Tokens: Int = 100, v4Cost: Double = 0.001, v4Fails: Bool = true) throws -> EvalReport {
        var suite = try EvalSuite.parse("purpose: triage\nvariants: [v3, v4]\nrepeat: 2\ncases:\n  - vars: {a: 1}\n  - vars: {a: 2}\n")
        suite.name = "golden"
        let cells: [EvalPlan.Cell] = [
            .init(variant: "v3", promptVersion: "v3", model: "fast", hasSchema: false),
            .init(variant: "v4", promptVersion: "v4", model: "fast", hasSchema: false),
        ]
        let plan = EvalPlan(suite: suite, cells: cells, callPurpose: "triage:eval", promptName: "triage")
        var runs: [EvalRun] = []
        for cell in cells {
            for c in 1...2 {
                for rep in 1...2 {
                    var r = EvalRun(caseIndex: c, variant: cell.variant, promptVersion: cell.promptVersion, model: cell.model, repetition: rep)
                    r.answered = true
                    r.output = "ok & <done>"
                    r.inputTokens = cell.variant == "v4" ? v4Tokens : 100
                    r.outputTokens = 10
                    r.costUSD = cell.variant == "v4" ? v4Cost : 0.001
                    r.latencyMs = Double(10 * (c + rep))
                    let fail = cell.variant == "v4" && c == 2 && rep == 2 && v4Fails
                    r.checks = [CheckResult(expectation: "contains \"ok\"", kind: "contains", passed: !fail, message: fail ? "no \"ok\" <here>" : nil)]
                    r.checks.append(CheckResult(expectation: "judge", kind: "judge", passed: true, message: "fine", score: rep == 1 ? 0.9 : 0.7))
                    runs.append(r)
                }
            }
        }
        return EvalReport(plan: plan, runs: runs, runID: "eval_test")
    }

    @Test func theReportHasARowPerVariantAndModel() throws {
        let report = try Self.report()
        #expect(report.rows.count == 2)
        let v3 = report.rows[0]
        let v4 = report.rows[1]
        #expect(v3.runs == 4 && v3.passes == 4 && v3.passRate == 1 && v3.flakyCases.isEmpty)
        #expect(v4.passes == 3 && v4.passRate == 0.75 && v4.flakyCases == [2])
        #expect(v3.meanInputTokens == 100 && v3.meanOutputTokens == 10)
        #expect(abs((v3.costUSD ?? 0) - 0.004) < 1e-12 && abs((v3.costPerCaseUSD ?? 0) - 0.001) < 1e-12)
        #expect(v3.p50LatencyMs == 30 && v3.p95LatencyMs == 40)
        let judge = try #require(v3.judge)
        #expect(judge.count == 4 && abs(judge.mean - 0.8) < 1e-9 && judge.min == 0.7 && judge.max == 0.9)
        #expect(abs(judge.stddev - 0.1) < 1e-9 && abs(judge.spread - 0.2) < 1e-9)
        #expect(report.failures.count == 1)
        #expect(report.json["rows"]?.arrayValue?.count == 2)
    }

    @Test func baselinesCompareRegressionsByTheLimits() throws {
        let base = EvalBaseline(report: try Self.report(v4Fails: false))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-eval-\(UUID().uuidString).json").path
        try base.write(to: dir)
        let loaded = try EvalBaseline.load(path: dir)
        #expect(loaded.rows == base.rows && loaded.suite == "golden")

        // Same figures: nothing regresses.
        var cmp = loaded.compare(try Self.report(v4Fails: false), maxPassDrop: 0, maxCostIncrease: 10)
        #expect(cmp.compared == 2 && cmp.regressions.isEmpty, "\(cmp.regressions)")
        // A 25-point drop fails at 0, passes at 25.
        cmp = loaded.compare(try Self.report(), maxPassDrop: 0, maxCostIncrease: 10)
        #expect(cmp.regressions == ["v4 × fast: pass rate fell from 100.0% to 75.0% (−25 points; --max-pass-drop 0)"], "\(cmp.regressions)")
        #expect(loaded.compare(try Self.report(), maxPassDrop: 25, maxCostIncrease: 10).regressions.isEmpty)
        // Tokens +10% is at the limit; +11% is over it; doubled cost is over it.
        #expect(loaded.compare(try Self.report(v4Tokens: 110, v4Fails: false), maxPassDrop: 0, maxCostIncrease: 10).regressions.isEmpty)
        cmp = loaded.compare(try Self.report(v4Tokens: 111, v4Cost: 0.002, v4Fails: false), maxPassDrop: 0, maxCostIncrease: 10)
        #expect(cmp.regressions.count == 2, "\(cmp.regressions)")
        #expect(cmp.regressions[0] == "v4 × fast: mean input tokens grew from 100 to 111 (+11%; --max-cost-increase 10%)")
        #expect(cmp.regressions[1].hasPrefix("v4 × fast: cost per run grew from $0.001 to $0.002 (+100%"))
        // A row keeps its name when its prompt version changes (the `live` variant): compared, and noted.
        var bumped = try Self.report(v4Fails: false)
        bumped.rows[1].promptVersion = "v5"
        cmp = loaded.compare(bumped, maxPassDrop: 0, maxCostIncrease: 10)
        #expect(cmp.compared == 2 && cmp.regressions.isEmpty && cmp.notes == ["v4 × fast: prompt version v4 in the baseline, v5 now"])
        // Rows only one side has are notes.
        var partial = try Self.report()
        partial.rows.removeFirst()
        cmp = loaded.compare(partial, maxPassDrop: 100, maxCostIncrease: 10)
        #expect(cmp.regressions.isEmpty && cmp.notes == ["v3 × fast: in the baseline but not in this run"])
        #expect(throws: EvalError.self) { try EvalBaseline.load(path: dir + ".missing") }
    }

    @Test func junitIsWellFormedWithTheRightCounts() throws {
        var report = try Self.report()
        // A call that failed is an error, not a failure; names with markup are escaped.
        report.runs[0].checks = [CheckResult(expectation: "call", kind: "call", passed: false, message: "HTTP 502 \"bad\" & <gone>\u{1}")]
        report.suite = "golden <\"quoted\"> & 'more'"
        let xml = JUnitReport.xml(report)
        let counter = XMLCounter()
        let parser = XMLParser(data: Data(xml.utf8))
        parser.delegate = counter
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "") in\n\(xml)")
        #expect(counter.counts["testsuites"] == 1 && counter.counts["testsuite"] == 2)
        #expect(counter.counts["testcase"] == 8 && counter.counts["failure"] == 1 && counter.counts["error"] == 1)
        #expect(counter.attributes["testsuites"]?["tests"] == "8" && counter.attributes["testsuites"]?["failures"] == "1")
        #expect(counter.attributes["testsuites"]?["errors"] == "1")
        #expect(counter.attributes["testsuites"]?["name"] == "golden <\"quoted\"> & 'more'")
        #expect(counter.firstSuiteNames.first == "golden <\"quoted\"> & 'more' [v3 × fast]")
    }
}

/// Counts elements and keeps the first attributes of each.
final class XMLCounter: NSObject, XMLParserDelegate, @unchecked Sendable {
    var counts: [String: Int] = [:]
    var attributes: [String: [String: String]] = [:]
    var firstSuiteNames: [String] = []

    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes attrs: [String: String] = [:]
    ) {
        counts[name, default: 0] += 1
        if attributes[name] == nil { attributes[name] = attrs }
        if name == "testsuite", let n = attrs["name"] { firstSuiteNames.append(n) }
    }
}
