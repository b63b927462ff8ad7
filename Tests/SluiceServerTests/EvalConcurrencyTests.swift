import Foundation
import SluiceCore
import SluiceEngine
import SluiceTesting
import Testing

/// `EvalRunner.concurrency` (`sluice eval run --concurrency N`): never more runs in flight upstream than N.
@Suite struct EvalConcurrencyTests {
    @Test func noMoreCallsAreInFlightThanTheConcurrency() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        var slow = FakeUpstream.Reply.text("billing")
        slow.delayMs = 150
        upstream.setDefault(slow)
        let yaml = FlagTests.config(upstream, prompts: try FlagTests.versionedPrompts(), triage: "{ prompt: triage, prompt_version: v3, model: fast }")
        let cases = (0..<9).map { "  - vars: { ticket: \"t\($0)\" }\n    expect: [ { contains: billing } ]" }.joined(separator: "\n")
        let suite = try EvalSuite.parse("name: wide\npurpose: triage\ncases:\n" + cases + "\n")
        try await Harness.with(yaml) { h in
            let plan = try EvalPlan.make(suite: suite, config: h.gateway.live.config, prompts: h.gateway.prompts.library)
            let runs = await EvalRunner(gateway: h.gateway, concurrency: 3).run(plan)
            #expect(runs.count == 9 && runs.allSatisfy(\.passed), "\(runs)")
            #expect(upstream.requestCount == 9)
            // Bounded by 3, and the runs did overlap (one at a time would also stay under the bound).
            #expect(upstream.peakInFlight == 3)
        }
    }
}
