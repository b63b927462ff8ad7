import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// Classifier guards (webhook, moderation, judge) on input and output, whole and streamed:
/// they block, flag, and fail open or closed as configured, each verdict recorded.
@Suite struct ClassifierGuardTests {
    static func config(_ up: FakeUpstream, _ hook: FakeUpstream) -> String {
        """
        providers:
          up: { type: openai_compatible, base_url: "\(up.baseURL)" }
        models:
          fast: { targets: [ { provider: up, model: m-fast } ] }
          mod: { targets: [ { provider: up, model: omni-moderation-latest } ] }
          judge: { targets: [ { provider: up, model: m-judge } ] }
        pricing:
          m-judge: { input: 1, output: 2 }
        purposes:
          hooked:
            pii: redact
            guards:
              input:
                - { name: intake, action: flag, webhook: { url: "\(hook.origin)/check" } }
              output:
                - { name: tox, action: block, webhook: { url: "\(hook.origin)/check", timeout_ms: 2000 } }
          strict:
            guards:
              output:
                - { name: tox, action: block, webhook: { url: "\(hook.origin)/check", timeout_ms: 2000, on_error: closed } }
          moderated:
            guards:
              output:
                - { name: mod, action: block, moderation: { model: mod, categories: { violence: 0.5 } } }
          judged:
            guards:
              output:
                - { name: on_topic, action: block, judge: { model: judge, rubric: "The answer is about billing.", min: 0.6 } }
        \(noRetry)
        """
    }

    static func verdict(_ v: String, _ reason: String = "") -> FakeUpstream.Reply { .raw(#"{"verdict":"\#(v)","reason":"\#(reason)"}"#) }

    @Test func aWebhookBlocksFlagsAndFailsOpenOrClosedWholeAndStreamed() async throws {
        let up = try await FakeUpstream.start()
        let hook = try await FakeUpstream.start()
        defer { Task { await up.stop(); await hook.stop() } }
        up.setDefault(.text("Your invoice is ready."))
        try await Harness.with(Self.config(up, hook)) { h in
            let body = #"{"model":"fast","messages":[{"role":"user","content":"mail me at jane@example.com"}]}"#
            let stream = #"{"model":"fast","stream":true,"messages":[{"role":"user","content":"mail me at jane@example.com"}]}"#
            for b in [body, stream] {
                // Input flagged, output blocked.
                hook.enqueue(Self.verdict("flag", "odd intake"), Self.verdict("block", "toxic"))
                let blocked = try await h.chat(b, headers: ["X-Sluice-Purpose": "hooked"])
                #expect(blocked.status == 422, "\(blocked.text)")
                #expect(blocked.json["error"]?["code"] == "output_blocked" && blocked.json["error"]?["param"] == "guard:tox")
                #expect(blocked.json["error"]?["message"]?.stringValue?.contains("toxic") == true)
                let record = try await h.record(blocked.header("X-Sluice-Call-Id"))
                #expect(record.guardVerdicts.map(\.verdict) == ["flag", "block"] && record.guardVerdicts.allSatisfy { $0.latencyMs > 0 })
                #expect(record.guardVerdicts.map(\.classifier) == ["webhook", "webhook"])
                // Output flagged only: served.
                hook.enqueue(Self.verdict("allow"), Self.verdict("flag", "borderline"))
                let flagged = try await h.chat(b, headers: ["X-Sluice-Purpose": "hooked"])
                #expect(flagged.status == 200, "\(flagged.text)")
                #expect(try await h.record(flagged.header("X-Sluice-Call-Id")).guardFlags == ["output:tox"])
                // The endpoint is too slow: this rule fails open, the stricter one closed.
                var slow = Self.verdict("block")
                slow.delayMs = 5_000  // well past the 2 s timeout, on a loaded machine too
                hook.enqueue(Self.verdict("allow"), slow)
                let open = try await h.chat(b, headers: ["X-Sluice-Purpose": "hooked"])
                #expect(open.status == 200, "\(open.text)")
                #expect(try await h.record(open.header("X-Sluice-Call-Id")).guardVerdicts.last?.verdict == "error")
                hook.enqueue(slow)
                let closed = try await h.chat(b, headers: ["X-Sluice-Purpose": "strict"])
                #expect(closed.status == 422 && closed.json["error"]?["message"]?.stringValue?.contains("fails closed") == true, "\(closed.text)")
            }
            // The webhook saw placeholders, never the address.
            let posted = hook.received.compactMap { $0.json?["text"]?.stringValue }
            #expect(!posted.isEmpty && posted.allSatisfy { !$0.contains("jane@example.com") }, "\(posted)")
            #expect(hook.received.first?.json?["side"] == "input" && hook.received.first?.json?["purpose"] == "hooked")
        }
    }

    @Test func moderationAndAJudgeBlockWithTheirFiguresAndTheJudgeIsPaidFor() async throws {
        let up = try await FakeUpstream.start()
        let hook = try await FakeUpstream.start()
        defer { Task { await up.stop(); await hook.stop() } }
        try await Harness.with(Self.config(up, hook)) { h in
            let body = #"{"model":"fast","messages":[{"role":"user","content":"hi"}]}"#
            up.enqueue(
                .text("a violent answer"),
                .raw(#"{"id":"modr-1","model":"omni-moderation-latest","results":[{"flagged":true,"categories":{"violence":true},"category_scores":{"violence":0.91}}]}"#))
            let moderated = try await h.chat(body, headers: ["X-Sluice-Purpose": "moderated"])
            #expect(moderated.status == 422 && moderated.json["error"]?["message"]?.stringValue?.contains("violence 0.91") == true, "\(moderated.text)")
            #expect(up.received.last?.path.hasSuffix("/moderations") == true)

            up.enqueue(.text("About the weather."), .text(#"{"score": 0.2, "reason": "not about billing"}"#, usage: Usage(inputTokens: 100, outputTokens: 20)))
            let judged = try await h.chat(body, headers: ["X-Sluice-Purpose": "judged"])
            #expect(judged.status == 422 && judged.json["error"]?["message"]?.stringValue?.contains("not about billing") == true, "\(judged.text)")
            let record = try await h.record(judged.header("X-Sluice-Call-Id"))
            let verdict = try #require(record.guardVerdicts.first)
            #expect(verdict.classifier == "judge" && verdict.verdict == "block")
            #expect(abs((verdict.costUSD ?? 0) - (100 * 1.0 + 20 * 2.0) / 1e6) < 1e-12)
            #expect((record.costUSD ?? 0) >= verdict.costUSD ?? 1, "the judge's cost is the call's")

            up.enqueue(.text("Your invoice is ready."), .text(#"{"score": 0.9, "reason": "billing"}"#))
            #expect(try await h.chat(body, headers: ["X-Sluice-Purpose": "judged"]).status == 200)
        }
    }
}
