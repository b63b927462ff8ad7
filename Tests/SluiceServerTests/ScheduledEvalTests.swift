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
            let scores = await h.gateway.evalScheduler.runDue()
            #expect(scores.count == 1)
            #expect(scores.first?.passRate == 0.5 && scores.first?.cases == 2 && scores.first?.promptVersion == "v3")
            #expect(scores.first?.answeredModel == "gpt-4o-mini")
            #expect(upstream.requestCount == 2)
            // The same period is not run again, on this node or any other.
            clock.advance(600)
            #expect(await h.gateway.evalScheduler.runDue().isEmpty)
            #expect(upstream.requestCount == 2)
            let stored = try await h.gateway.store.evalScores(purpose: "triage", limit: 10)
            #expect(stored == scores)

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
