import Foundation
import Logging
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

/// `sluice eval run`, run as the real executable against a fake upstream.
@Suite(.serialized)
struct EvalCLITests {
    /// A project dir: `sluice.yaml` (purpose triage over the fake), prompts triage v3 and v4.
    func project(_ upstream: FakeUpstream) throws -> String {
        let dir = try makeTempDir()
        _ = try FlagTests.versionedPrompts(in: dir + "/prompts")
        try """
            providers:
              up: { type: openai_compatible, base_url: "\(upstream.baseURL)" }
            models:
              fast: { targets: [ { provider: up, model: gpt-4o-mini } ] }
              smart: { targets: [ { provider: up, model: gpt-4o } ] }
            storage: { url: "sqlite://\(dir)/sluice.db" }
            prompts_dir: prompts
            purposes:
              triage: { prompt: triage, model: fast }
            retry: { max_attempts: 1 }
            """.write(toFile: dir + "/sluice.yaml", atomically: true, encoding: .utf8)
        return dir
    }

    func write(_ text: String, _ path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func eval(_ args: [String], in dir: String) async throws -> (Int32, String) {
        try await SluiceProcess.run(["eval", "run"] + args + ["--config", dir + "/sluice.yaml"], directory: dir)
    }

    /// The JSON object `--json` printed (the last line that parses).
    func json(_ out: String) -> JSON {
        for line in out.split(separator: "\n").reversed() where line.hasPrefix("{") {
            if let j = try? JSON.parse(String(line)) { return j }
        }
        return .null
    }

    func record(_ dir: String, _ callID: String?) async throws -> CallRecord? {
        guard let callID else { return nil }
        let store = try SQLiteStore(path: dir + "/sluice.db")
        let record = try await store.get(callID)
        try await store.close()
        return record
    }

    /// Answers of the fake echo the last user message: `fake answer to: Ticket: …`.
    static let passing = """
        name: golden
        purpose: triage
        variants: [v3, v4]
        cases:
          - name: swift
            vars: { ticket: "Swift engineer" }
            expect:
              - contains: "Swift"
              - regex: "^fake answer"
              - max_latency_ms: 20000
              - max_cost_usd: 0.01
          - vars: { ticket: "Cook" }
            expect:
              - contains: "Cook"
        """

    @Test func aPassingSuiteExits0AndShows100Percent() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let dir = try project(upstream)
        try write(Self.passing, dir + "/suite.yaml")

        var (status, out) = try await eval(["suite.yaml"], in: dir)
        #expect(status == 0, "\(out)")
        #expect(out.contains("EVAL golden  purpose triage:eval"), "\(out)")
        #expect(out.contains("2 cases × 2 variants × 1 model × repeat 1 = 4 runs"), "\(out)")
        let lines = out.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("v3") && $0.contains("fast") && $0.contains("100.0%") && $0.contains("11.0") && $0.contains("7.0") }, "\(out)")
        #expect(lines.contains { $0.hasPrefix("v4") && $0.contains("100.0%") }, "\(out)")
        #expect(out.hasSuffix("PASS: all 4 runs passed\n"), "\(out)")
        #expect(upstream.requestCount == 4)
        #expect(upstream.received.contains { $0.json?["messages"]?.arrayValue?.first?["content"] == "Label (v4)." })

        // --json; the call rows are written under PURPOSE:eval, with the variant and prompt version.
        (status, out) = try await eval(["suite.yaml", "--json", "--variant", "v4"], in: dir)
        #expect(status == 0, "\(out)")
        let report = json(out)
        #expect(report["ok"] == true && report["rows"]?.arrayValue?.count == 1, "\(out)")
        #expect(report["rows"]?.arrayValue?.first?["pass_rate"]?.doubleValue == 1)
        let run = try #require(report["runs"]?.arrayValue?.first)
        let rec = try #require(try await record(dir, run["call_id"]?.stringValue))
        #expect(rec.purpose == "triage:eval" && rec.variant == "v4" && rec.promptVersion == "v4" && rec.cache == "bypass")
        #expect(rec.runID == report["run_id"]?.stringValue)

        // --cache: the second run is served from the cache (the eval's own scope), without calls upstream.
        (status, out) = try await eval(["suite.yaml", "--json", "--variant", "v3", "--cache"], in: dir)
        #expect(status == 0 && json(out)["runs"]?.arrayValue?.map { $0["cache"] } == ["miss", "miss"], "\(out)")
        let before = upstream.requestCount
        (status, out) = try await eval(["suite.yaml", "--json", "--variant", "v3", "--cache"], in: dir)
        #expect(status == 0 && json(out)["runs"]?.arrayValue?.map { $0["cache"] } == ["hit", "hit"], "\(out)")
        #expect(upstream.requestCount == before)

        // A prompt suite (no purpose) runs as `eval`.
        try write("prompt: triage\nmodel: smart\nvariants: [v3]\ncases:\n  - vars: { ticket: x }\n    expect: [ { contains: x } ]\n", dir + "/p.yaml")
        (status, out) = try await eval(["p.yaml", "--json"], in: dir)
        #expect(status == 0, "\(out)")
        let prompt = try #require(try await record(dir, json(out)["runs"]?.arrayValue?.first?["call_id"]?.stringValue))
        #expect(prompt.purpose == "eval" && prompt.model == "smart" && prompt.promptVersion == "v3")

        // A suite that cannot run exits 2 and says why.
        (status, out) = try await eval(["suite.yaml", "--variant", "v9"], in: dir)
        #expect(status == 2 && out.contains("--variant v9 is not in the suite's variants: v3, v4"), "\(out)")
        try write("purpose: triage\ncases:\n  - vars: {ticket: x}\n    expect:\n      - containz: x\n", dir + "/bad.yaml")
        (status, out) = try await eval(["bad.yaml"], in: dir)
        #expect(status == 2 && out.contains("cases[0].expect[0].containz (line 5): unknown key 'containz'"), "\(out)")
    }

    @Test func aRegressedExpectationExits1UnderMinPassRate() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let dir = try project(upstream)
        try write(Self.passing.replacingOccurrences(of: "- contains: \"Cook\"", with: "- contains: \"Chef\""), dir + "/suite.yaml")

        var (status, out) = try await eval(["suite.yaml", "--variant", "v3"], in: dir)
        #expect(status == 0, "without a gate a failing case is reported, not fatal: \(out)")
        #expect(out.contains("50.0%"), "\(out)")
        #expect(out.contains("DONE: 1 of 2 runs failed a check; no gate set"), "\(out)")
        (status, out) = try await eval(["suite.yaml", "--variant", "v3", "--min-pass-rate", "1.0"], in: dir)
        #expect(status == 1, "\(out)")
        #expect(out.contains("FAILURES (1 run)"), "\(out)")
        #expect(out.contains(#"case 2 · v3 × fast: contains "Chef": the answer does not contain "Chef""#), "\(out)")
        #expect(out.contains("v3 × fast: pass rate 50.0% is below --min-pass-rate 100.0%"), "\(out)")
        (status, out) = try await eval(["suite.yaml", "--variant", "v3", "--min-pass-rate", "0.5", "--progress", "always"], in: dir)
        #expect(status == 0 && out.contains("PASS: the gates hold (1 of 2 runs failed a check)"), "\(out)")
        // The progress bar (forced on: the test's stderr is not a terminal).
        #expect(out.contains("] 0/2 runs") && out.contains("] 2/2 runs  1 failed"), "\(out)")
    }

    @Test func doubledTokensFailAgainstASavedBaseline() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let dir = try project(upstream)
        try write(Self.passing, dir + "/suite.yaml")

        var (status, out) = try await eval(["suite.yaml", "--save-baseline", "base.json"], in: dir)
        #expect(status == 0 && out.contains("saved baseline base.json"), "\(out)")
        let saved = try JSON.parse(try String(contentsOfFile: dir + "/base.json", encoding: .utf8))
        #expect(saved["rows"]?.arrayValue?.count == 2 && saved["rows"]?.arrayValue?.first?["mean_input_tokens"] == .int(11))

        // The same answers: no regression.
        (status, out) = try await eval(["suite.yaml", "--baseline", "base.json"], in: dir)
        #expect(status == 0 && out.contains("BASELINE base.json: 2 rows compared"), "\(out)")

        // A prompt change that doubles token use fails the build.
        var doubled = FakeUpstream.Reply()
        doubled.usage = Usage(inputTokens: 22, outputTokens: 14)
        upstream.setDefault(doubled)
        (status, out) = try await eval(["suite.yaml", "--baseline", "base.json", "--max-cost-increase", "10"], in: dir)
        #expect(status == 1, "\(out)")
        #expect(out.contains("v3 × fast: mean input tokens grew from 11 to 22 (+100%; --max-cost-increase 10%)"), "\(out)")
        #expect(out.contains("v4 × fast: cost per run grew from"), "\(out)")
        (status, out) = try await eval(["suite.yaml", "--baseline", "base.json", "--max-cost-increase", "150"], in: dir)
        #expect(status == 0, "\(out)")
    }

    @Test func junitWritesAValidReport() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let dir = try project(upstream)
        let suite = Self.passing.replacingOccurrences(of: "- contains: \"Cook\"", with: "- contains: \"<Chef & co>\"")
        try write(suite.replacingOccurrences(of: "cases:", with: "repeat: 2\ncases:"), dir + "/suite.yaml")

        let (status, out) = try await eval(["suite.yaml", "--junit", "report.xml"], in: dir)
        #expect(status == 0 && out.contains("wrote JUnit report report.xml"), "\(out)")
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/report.xml"))
        let counter = ElementCounter()
        let parser = XMLParser(data: data)
        parser.delegate = counter
        #expect(parser.parse(), "\(String(decoding: data, as: UTF8.self))")
        #expect(counter.counts["testsuite"] == 2 && counter.counts["testcase"] == 8 && counter.counts["failure"] == 4)
        #expect(counter.first["testsuites"]?["tests"] == "8" && counter.first["testsuites"]?["failures"] == "4")
        #expect(counter.first["testsuite"]?["name"] == "golden [v3 × fast]")
        #expect(counter.first["failure"]?["message"]?.contains(#"contains "<Chef & co>""#) == true, "\(counter.first)")
    }

    static let judged = """
        name: judged
        purpose: triage
        variants: [v3]
        cases:
          - name: lenient
            vars: { ticket: "a" }
            expect:
              - judge: { rubric: "Is it a label?", model: smart, min: 0.7 }
          - name: strict
            vars: { ticket: "b" }
            expect:
              - judge: { rubric: "Is it a perfect label?", model: smart, min: 0.95 }
        """

    @Test func aJudgeScoresAnswersAgainstItsMinimum() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let dir = try project(upstream)
        try write(Self.judged, dir + "/suite.yaml")
        upstream.setDefault(.text(#"{"score":0.9,"reason":"ok"}"#))

        let (status, out) = try await eval(["suite.yaml", "--json", "--min-pass-rate", "0.5"], in: dir)
        #expect(status == 0, "\(out)")
        let report = json(out)
        let runs = report["runs"]?.arrayValue ?? []
        #expect(runs.map { $0["passed"] } == [true, false], "\(out)")
        let strict = runs.last?["checks"]?.arrayValue?.first
        #expect(strict?["score"]?.doubleValue == 0.9 && strict?["message"] == "score 0.9 is below 0.95: ok", "\(out)")
        #expect(report["rows"]?.arrayValue?.first?["judge"]?["mean"]?.doubleValue == 0.9)
        // The judge is asked for a schema'd verdict by the judge model, and recorded as eval:judge.
        let judgeCalls = upstream.received.filter { $0.json?["response_format"]?["json_schema"]?["name"] == "eval_judge" }
        #expect(judgeCalls.count == 2 && judgeCalls.allSatisfy { $0.json?["model"] == "gpt-4o" })
        let prompts = judgeCalls.compactMap { $0.json?["messages"]?.arrayValue?.last?["content"]?.stringValue }
        #expect(prompts.contains { $0.contains("Rubric:\nIs it a label?") && $0.contains(#"{"ticket":"a"}"#) && $0.contains(#"{"score":0.9,"reason":"ok"}"#) })
        let store = try SQLiteStore(path: dir + "/sluice.db")
        let totals = try await store.ledgerTotals(from: Date(timeIntervalSinceNow: -3600), to: Date(timeIntervalSinceNow: 60), by: .purpose, purpose: nil)
        try await store.close()
        #expect(Set(totals.compactMap(\.group)) == ["triage:eval", "eval:judge"], "\(totals)")
    }

    @Test func repeatedJudgingReportsItsSpread() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let dir = try project(upstream)
        try write(
            "purpose: triage\nvariants: [v3]\nrepeat: 3\ncases:\n  - vars: { ticket: a }\n    expect:\n"
                + "      - judge: { rubric: r, model: smart, min: 0.7 }\n", dir + "/suite.yaml")
        // One at a time: the case's call, then its judge, three times.
        for score in ["0.9", "0.5", "0.8"] { upstream.enqueue(.text("label"), .text(#"{"score":\#(score),"reason":"r\#(score)"}"#)) }

        let (status, out) = try await eval(["suite.yaml", "--concurrency", "1"], in: dir)
        #expect(status == 0, "\(out)")
        #expect(out.contains("JUDGE SPREAD across 3 repeats"), "\(out)")
        #expect(out.contains("FLAKY (repeats disagree)") && out.contains("case 1 · v3 × fast: passed 2 of 3; judge scores 0.90, 0.50, 0.80"), "\(out)")
        // mean 0.733, population stddev 0.170, range 0.4.
        #expect(out.contains("0.733") && out.contains("0.170") && out.contains("0.40"), "\(out)")
        #expect(out.contains("0.73 ±0.17"), "\(out)")
        #expect(out.contains("score 0.5 is below 0.7: r0.5"), "\(out)")
    }
}

/// Counts elements and keeps the first attributes of each.
final class ElementCounter: NSObject, XMLParserDelegate, @unchecked Sendable {
    var counts: [String: Int] = [:]
    var first: [String: [String: String]] = [:]

    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes attrs: [String: String] = [:]
    ) {
        counts[name, default: 0] += 1
        if first[name] == nil { first[name] = attrs }
    }
}
