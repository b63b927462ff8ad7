import Foundation
import SluiceCore
import SluiceEngine
import SluiceStore
import SluiceTesting
import Testing

/// `evals: [{suite, every}]`: the server runs suites on a schedule, once per period,
/// stores the scores, shows the latest in the drift report and alerts on a low one.
@Suite struct ScheduledEvalTests {
    @Test func aScheduledSuiteRunsOncePerPeriodAndALowScoreAlerts() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("billing"))
        let receiver = try await FakeUpstream.start()
        defer { Task { await receiver.stop() } }
        let prompts = try FlagTests.versionedPrompts()
        let dir = try PurposeCacheTests.promptsDir()
        try """
            name: triage-golden
            purpose: triage
            cases:
              - vars: { ticket: "I was charged twice" }
                expect: [ { contains: "billing" } ]
              - vars: { ticket: "The app crashes" }
                expect: [ { contains: "bug" } ]
            """.write(toFile: dir + "/golden.yaml", atomically: true, encoding: .utf8)
        let yaml = FlagTests.config(upstream, prompts: prompts, triage: "{ prompt: triage, prompt_version: v3, model: fast }") + """

            evals:
              - { suite: "\(dir)/golden.yaml", every: 1h }
            alerts:
              webhook: "http://127.0.0.1:\(receiver.port)/hook"
              rules:
                - { metric: eval_score, purpose: triage, below: 0.9 }
            """
        let clock = ManualClock(Date(timeIntervalSince1970: 1_795_000_000))
        try await Harness.with(yaml, clock: clock) { h in
            // The served gateway runs the suite at start: nothing here calls runDue() for the first period.
            let scores = try await Self.storedScores(h, purpose: "triage")
            #expect(scores.count == 1)
            #expect(scores.first?.passRate == 0.5 && scores.first?.cases == 2 && scores.first?.promptVersion == "v3")
            #expect(scores.first?.answeredModel == "gpt-4o-mini")
            #expect(upstream.requestCount == 2)
            // The same period is not run again, on this node or any other.
            clock.advance(600)
            #expect(await h.gateway.evalScheduler.runDue().isEmpty)
            #expect(upstream.requestCount == 2)
            #expect(try await h.gateway.store.evalScores(purpose: "triage", limit: 10) == scores)

            let drift = try await h.request(.GET, "/admin/drift/triage", headers: FlagTests.admin)
            #expect(drift.json["latest_eval_score"] == 0.5)
            #expect(try await h.gateway.alerts.evaluate().map(\.scope) == ["triage"])
            #expect(receiver.received.first?.json?["text"]?.stringValue?.contains("50%") == true)

            // The next period runs again.
            clock.advance(3600)
            #expect(await h.gateway.evalScheduler.runDue().count == 1)
            #expect(upstream.requestCount == 4)
        }
    }

    /// `evals:` is read from the live config: a reload starts a suite the file did not have, and drops it again.
    @Test func aReloadAddsAndDropsAScheduledSuite() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("billing"))
        let prompts = try FlagTests.versionedPrompts()
        let dir = try PurposeCacheTests.promptsDir()
        try """
            name: triage-reloaded
            purpose: triage
            cases:
              - vars: { ticket: "I was charged twice" }
                expect: [ { contains: "billing" } ]
            """.write(toFile: dir + "/golden.yaml", atomically: true, encoding: .utf8)
        let path = dir + "/sluice.yaml"
        func write(evals: Bool) throws {
            let text = FlagTests.config(upstream, prompts: prompts, triage: "{ prompt: triage, prompt_version: v3, model: fast }")
                + "\nstorage: { url: \"sqlite://\(dir)/sluice.db\" }\n"
                + (evals ? "evals:\n  - { suite: \"\(dir)/golden.yaml\", every: 1h }\n" : "")
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
        try write(evals: false)
        let clock = ManualClock(Date(timeIntervalSince1970: 1_795_000_000))
        try await Harness.with(try String(contentsOfFile: path, encoding: .utf8), clock: clock, reloadFrom: path) { h in
            #expect(await h.gateway.evalScheduler.runDue().isEmpty)
            #expect(upstream.requestCount == 0)

            try write(evals: true)
            let added = try await h.request(.POST, "/admin/reload", headers: FlagTests.admin)
            #expect(added.status == 200 && added.json["restart_required"] == [], "\(added.text)")
            _ = await h.gateway.evalScheduler.runDue()
            let scores = try await Self.storedScores(h, purpose: "triage")
            #expect(scores.map(\.suite) == ["triage-reloaded"] && scores.first?.passRate == 1)
            #expect(upstream.requestCount == 1)

            try write(evals: false)
            #expect(try await h.request(.POST, "/admin/reload", headers: FlagTests.admin).status == 200)
            clock.advance(3600)
            #expect(await h.gateway.evalScheduler.runDue().isEmpty)
            #expect(upstream.requestCount == 1)
        }
    }

    /// Waits (at most 10 s) until scores of `purpose` are stored, by the served scheduler or a `runDue()`.
    static func storedScores(_ h: Harness, purpose: String) async throws -> [EvalScore] {
        for _ in 0..<500 {
            let scores = try await h.gateway.store.evalScores(purpose: purpose, limit: 10)
            if !scores.isEmpty { return scores }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw HarnessError("no eval scores of \(purpose) were stored")
    }

    @Test func aBrokenScheduledSuiteIsAConfigError() throws {
        let dir = try PurposeCacheTests.promptsDir()
        try "name: x\ncases: 3\n".write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        #expect(throws: ConfigError.self) {
            try ConfigLoader.parse("evals:\n  - { suite: bad.yaml, every: 1h }\n", environment: [:], directory: dir)
        }
        #expect(throws: ConfigError.self) {
            try ConfigLoader.parse("evals:\n  - { suite: bad.yaml, every: 5s }\n", environment: [:], directory: dir)
        }
    }
}
