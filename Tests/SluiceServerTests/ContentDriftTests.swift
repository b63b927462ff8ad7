import Foundation
import SluiceCore
import SluiceEngine
import SluiceStore
import SluiceTesting
import Testing

/// The rest of drift: output sentiment, input length and script, feedback and tool calls.
@Suite struct ContentDriftTests {
    static let now = DriftTests.now

    static func call(_ i: Int, daysAgo: Double, sentiment: Double, chars: Int, script: String = "latin", tools: [String] = []) -> CallRecord {
        var r = DriftTests.call(i, daysAgo: daysAgo, valid: true)
        r.outputSentiment = sentiment
        r.inputChars = chars
        r.inputScript = script
        r.toolCalls = tools.map { ToolCall(name: $0, arguments: "{}") }
        return r
    }

    static func feedback(_ r: CallRecord, _ score: Double) -> Feedback {
        Feedback(
            id: "fb_" + r.callID, callID: r.callID, taskID: nil, purpose: r.purpose, score: score, label: nil, comment: nil, action: nil,
            keyName: nil, createdAt: r.createdAt)
    }

    /// The acceptance: a shift in output sentiment, in input length and in negative feedback is
    /// flagged in the drift report and fires its alert.
    @Test func sentimentInputLengthAndFeedbackShiftsAreFlaggedAndAlert() async throws {
        let receiver = try await FakeUpstream.start()
        defer { Task { await receiver.stop() } }
        let clock = ManualClock(Self.now)
        let yaml = """
            auth: { admin_key: admin-secret-drift-2 }
            alerts:
              webhook: "http://127.0.0.1:\(receiver.port)/hook"
              rules:
                - { metric: sentiment_shift, purpose: triage, below: -0.2, window: 7d, min_calls: 20 }
                - { metric: input_length_shift, purpose: triage, above: 30, window: 7d, min_calls: 20 }
                - { metric: feedback_negative_rate, purpose: triage, above: 0.3, window: 7d, min_calls: 20 }
            """
        try await Harness.with(yaml, clock: clock) { h in
            var seeded: [CallRecord] = []
            var scores: [Feedback] = []
            for i in 0..<300 {
                let r = Self.call(i, daysAgo: 8 + Double(i) / 10.5, sentiment: i % 20 == 0 ? -0.5 : 0.6, chars: 200 + i % 7, tools: i % 10 == 0 ? ["lookup"] : [])
                seeded.append(r)
                if i % 3 == 0 { scores.append(Self.feedback(r, i % 30 == 0 ? -1 : 1)) }  // 100 scores, 10% negative
            }
            for i in 0..<100 {
                let r = Self.call(
                    1000 + i, daysAgo: (Double(i) + 0.5) / 15, sentiment: i % 5 < 2 ? -0.6 : 0.4, chars: 420 + i % 7,
                    script: i % 4 == 0 ? "cjk" : "latin", tools: i % 2 == 0 ? ["lookup", "refund"] : [])
                seeded.append(r)
                if i % 2 == 0 { scores.append(Self.feedback(r, i % 4 == 0 ? -1 : 0.5)) }  // 50 scores, 50% negative
            }
            try await h.gateway.store.insert(seeded)
            for f in scores { try await h.gateway.store.addFeedback(f) }

            let r = try await h.request(.GET, "/admin/drift/triage", headers: ["Authorization": "Bearer admin-secret-drift-2"])
            #expect(r.status == 200, "\(r.text)")
            let flaggedMetrics = Set((r.json["shifts"]?.arrayValue ?? []).filter { $0["significant"] == true }.compactMap { $0["metric"]?.stringValue })
            for metric in [
                "negative_sentiment_rate", "mean_sentiment", "mean_input_chars", "p95_input_chars", "feedback_negative_rate", "mean_feedback",
                "script_share:cjk", "script_share:latin", "tool_call_rate", "tools",
            ] {
                #expect(flaggedMetrics.contains(metric), "\(metric) not flagged: \(flaggedMetrics)")
            }
            #expect(r.json["current"]?["negative_feedback_rate"] == 0.5 && r.json["baseline"]?["negative_feedback_rate"] == 0.1)
            #expect(r.json["current"]?["tools"] == ["lookup": 50, "refund": 50])
            #expect(r.json["current"]?["script_mix"] == ["cjk": 0.25, "latin": 0.75])
            let flagged = r.json["flagged"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(flagged.contains { $0.contains("new tool(s) called: refund") }, "\(flagged)")
            #expect(flagged.contains("script_share:cjk 0% → 25% (shifted)"), "\(flagged)")
            #expect(flagged.contains("feedback_negative_rate 10% → 50% (worse)"), "\(flagged)")
            #expect(flagged.contains { $0.hasPrefix("mean_input_chars ") }, "\(flagged)")
            let byModel = r.json["flagged_by_model"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(byModel.contains { $0.hasPrefix("gpt-4o-2024-08-06: negative_sentiment_rate") }, "\(byModel)")

            let fired = try await h.gateway.alerts.evaluate()
            #expect(Set(fired.map(\.metric)) == ["sentiment_shift", "input_length_shift", "feedback_negative_rate"], "\(fired)")
            #expect(fired.allSatisfy { $0.scope == "triage" })
            #expect(receiver.received.count == 3)
            let texts = receiver.received.compactMap { $0.json?["text"]?.stringValue }
            #expect(texts.contains { $0.contains("Negative feedback on purpose 'triage' is 50%") }, "\(texts)")
            #expect(texts.contains { $0.contains("Mean output sentiment of purpose 'triage' moved") }, "\(texts)")
            #expect(texts.contains { $0.contains("Mean input length of purpose 'triage' moved") }, "\(texts)")
        }
    }

    /// A live call gets its sentiment, input length and script when its record is written.
    @Test func recordsCarryTheDriftValues() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.enqueue(.text("Sorry, that failed with a terrible error."))
        upstream.enqueue(.text("Great, happy to help!"))
        try await Harness.with(upstreamConfig(upstream)) { h in
            let whole = try await h.chat(#"{"model":"fast","messages":[{"role":"user","content":"Привет, мир"}]}"#)
            let rec = try await h.record(whole.header("X-Sluice-Call-Id"))
            #expect(rec.outputSentiment == -1 && rec.inputChars == 11 && rec.inputScript == "cyrillic")
            let streamed = try await h.chat(#"{"model":"fast","stream":true,"messages":[{"role":"user","content":"hello"}]}"#)
            let srec = try await h.record(streamed.header("X-Sluice-Call-Id"))
            #expect(srec.outputSentiment == 1 && srec.inputChars == 5 && srec.inputScript == "latin")
            let shown = try await h.request(.GET, "/admin/calls/\(srec.callID)")
            #expect(shown.json["output_sentiment"] == 1 && shown.json["input_script"] == "latin")
        }
    }
}
