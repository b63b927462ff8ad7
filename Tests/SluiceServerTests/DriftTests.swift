import Foundation
import SluiceCore
import SluiceEngine
import SluiceStore
import SluiceTesting
import Testing

/// Drift: the last window against its baseline, flagged shifts, provider drift and alerts.
@Suite struct DriftTests {
    static let now = Date(timeIntervalSince1970: 1_795_000_000)  // 2026-11-18 06:13 UTC

    /// A call `daysAgo` days back: schema valid or not, with `tokens` output tokens, answered by `model`.
    static func call(_ i: Int, daysAgo: Double, valid: Bool, tokens: Int = 100, model: String = "gpt-4o-2024-08-06", refusal: Bool = false) -> CallRecord {
        let at = now.addingTimeInterval(-daysAgo * 86_400)
        var r = CallRecord(callID: IDs.callID(at: at) + "-\(i)", createdAt: at, purpose: "triage", model: "fast")
        r.answeredModel = model
        r.schemaValid = valid
        r.refusal = refusal
        r.usage = Usage(inputTokens: 50, outputTokens: tokens)
        r.latencyMs = 400 + Double(i % 10) * 10
        r.httpStatus = 200
        return r
    }

    /// 30 days at 99% valid, then the last 7 at 80%: the report flags the drop and the alert fires once.
    @Test func aSchemaValidDropIsFlaggedAndAlertsOnce() async throws {
        let receiver = try await FakeUpstream.start()
        defer { Task { await receiver.stop() } }
        let clock = ManualClock(Self.now)
        let yaml = """
            auth: { admin_key: admin-secret-drift-1 }
            alerts:
              webhook: "http://127.0.0.1:\(receiver.port)/hook"
              rules:
                - { metric: schema_valid_rate, purpose: triage, below: 0.9, window: 7d, min_calls: 20 }
            """
        try await Harness.with(yaml, clock: clock) { h in
            var seeded: [CallRecord] = []
            for i in 0..<300 { seeded.append(Self.call(i, daysAgo: 8 + Double(i) / 10.5, valid: i % 100 != 0)) }  // 99%
            for i in 0..<100 { seeded.append(Self.call(1000 + i, daysAgo: (Double(i) + 0.5) / 15, valid: i % 5 != 0)) }  // 80%
            try await h.gateway.store.insert(seeded)

            let r = try await h.request(.GET, "/admin/drift/triage", headers: ["Authorization": "Bearer admin-secret-drift-1"])
            #expect(r.status == 200, "\(r.text)")
            #expect(r.json["current"]?["calls"] == 100 && r.json["baseline"]?["calls"] == 300)
            #expect(r.json["current"]?["schema_valid_rate"] == 0.8)
            #expect(r.json["baseline"]?["schema_valid_rate"] == 0.99)
            let flagged = r.json["flagged"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(flagged.count == 1 && flagged[0].contains("schema_valid_rate 99% → 80% (worse)"), "\(flagged)")
            #expect(r.json["new_models"] == [])
            #expect((r.json["daily"]?.arrayValue?.count ?? 0) >= 30)

            #expect(try await h.gateway.alerts.evaluate().map(\.scope) == ["triage"])
            clock.advance(600)
            #expect(try await h.gateway.alerts.evaluate().isEmpty)
            #expect(receiver.received.count == 1)
            #expect(receiver.received.first?.json?["text"]?.stringValue?.contains("80%") == true)

            #expect(try await h.request(.GET, "/admin/drift/triage?window=soon", headers: ["Authorization": "Bearer admin-secret-drift-1"]).status == 400)
        }
    }

    /// A new answered model version, more output tokens and more refusals are each flagged;
    /// a steady purpose flags nothing.
    @Test func providerDriftTokensAndRefusalsAreFlagged() async throws {
        let clock = ManualClock(Self.now)
        try await Harness.with("", clock: clock) { h in
            var seeded: [CallRecord] = []
            for i in 0..<200 { seeded.append(Self.call(i, daysAgo: 8 + Double(i) / 7, valid: true, tokens: 100, model: "gpt-4o-2024-05-13")) }
            for i in 0..<100 {
                seeded.append(Self.call(1000 + i, daysAgo: Double(i) / 15, valid: true, tokens: 180, model: "gpt-4o-2024-08-06", refusal: i % 4 == 0))
            }
            try await h.gateway.store.insert(seeded)
            let report = try await DriftReport.build(purpose: "triage", store: h.gateway.store, now: Self.now, window: 7 * 86_400, baseline: 30 * 86_400)
            let flagged = Set(report.shifts.filter(\.significant).map(\.metric))
            #expect(flagged == ["answered_model", "mean_output_tokens", "p95_output_tokens", "refusal_rate"], "\(report.shifts)")
            #expect(report.newModels == ["gpt-4o-2024-08-06"])

            let steady = try await DriftReport.build(purpose: "other", store: h.gateway.store, now: Self.now, window: 7 * 86_400, baseline: 30 * 86_400)
            #expect(steady.shifts.allSatisfy { !$0.significant } && steady.current.calls == 0)
        }
    }

    /// A quarter of the last day's answers are refusals (none before): the rule fires once; a rule
    /// that wants more calls than there are stays quiet.
    @Test func aRefusalRateRiseAlertsOnce() async throws {
        let receiver = try await FakeUpstream.start()
        defer { Task { await receiver.stop() } }
        let clock = ManualClock(Self.now)
        let yaml = """
            alerts:
              webhook: "http://127.0.0.1:\(receiver.port)/hook"
              rules:
                - { metric: refusal_rate, purpose: triage, above: 0.1, window: 1d, min_calls: 20 }
                - { metric: refusal_rate, purpose: triage, above: 0.1, window: 1d, min_calls: 1000 }
            """
        try await Harness.with(yaml, clock: clock) { h in
            var seeded: [CallRecord] = []
            // Counted over the whole history the rate would be 10 of 140, about 7%: under the threshold.
            for i in 0..<100 { seeded.append(Self.call(i, daysAgo: 2 + Double(i) / 10, valid: true)) }
            for i in 0..<40 { seeded.append(Self.call(1000 + i, daysAgo: (Double(i) + 0.5) / 50, valid: true, refusal: i % 4 == 0)) }
            try await h.gateway.store.insert(seeded)

            let fired = try await h.gateway.alerts.evaluate()
            #expect(fired.map(\.scope) == ["triage"] && fired.map(\.metric) == ["refusal_rate"])
            #expect(fired.first?.value == 0.25)
            clock.advance(600)
            #expect(try await h.gateway.alerts.evaluate().isEmpty)
            #expect(receiver.received.count == 1)
            let text = receiver.received.first?.json?["text"]?.stringValue ?? ""
            #expect(text.contains("Refusal rate of purpose 'triage' is 25% over the last 40 answers"), "\(text)")
        }
    }

    /// Output tokens up 80% in the last 7 days against the 30 before: the rule above 50% fires once,
    /// the one above 100% does not.
    @Test func anOutputTokensShiftAlertsOnce() async throws {
        let receiver = try await FakeUpstream.start()
        defer { Task { await receiver.stop() } }
        let clock = ManualClock(Self.now)
        let yaml = """
            alerts:
              webhook: "http://127.0.0.1:\(receiver.port)/hook"
              rules:
                - { metric: output_tokens_shift, purpose: triage, above: 50, window: 7d, min_calls: 20 }
                - { metric: output_tokens_shift, purpose: triage, above: 100, window: 7d, min_calls: 20 }
            """
        try await Harness.with(yaml, clock: clock) { h in
            var seeded: [CallRecord] = []
            for i in 0..<300 { seeded.append(Self.call(i, daysAgo: 8 + Double(i) / 10.5, valid: true, tokens: 100)) }
            for i in 0..<100 { seeded.append(Self.call(1000 + i, daysAgo: (Double(i) + 0.5) / 15, valid: true, tokens: 180)) }
            try await h.gateway.store.insert(seeded)

            let fired = try await h.gateway.alerts.evaluate()
            #expect(fired.map(\.rule) == ["output_tokens_shift[triage]>50.0"], "\(fired)")
            #expect(fired.first.map { abs($0.value - 80) < 1e-9 } == true, "\(fired)")
            clock.advance(600)
            #expect(try await h.gateway.alerts.evaluate().isEmpty)
            #expect(receiver.received.count == 1)
            let text = receiver.received.first?.json?["text"]?.stringValue ?? ""
            #expect(text.contains("Mean output tokens of purpose 'triage' moved 80% (100 → 180)"), "\(text)")
        }
    }

    @Test func checkConfigWarnsAboutUnpinnedModels() throws {
        #expect(ConfigLoader.isUnpinned("gpt-4o"))
        #expect(ConfigLoader.isUnpinned("claude-3-5-sonnet-latest"))
        #expect(!ConfigLoader.isUnpinned("gpt-4o-2024-08-06"))
        #expect(!ConfigLoader.isUnpinned("claude-3-5-sonnet-20241022"))
        #expect(!ConfigLoader.isUnpinned("gemini-1.5-pro-002"))
        let config = try ConfigLoader.parse(
            """
            providers:
              openai: { type: openai, api_key: sk-x }
              local: { type: openai_compatible, base_url: "http://127.0.0.1:1/v1" }
            models:
              fast: { targets: [ { provider: openai, model: gpt-4o-mini } ] }
              pinned: { targets: [ { provider: openai, model: gpt-4o-2024-08-06 } ] }
              mine: { targets: [ { provider: local, model: llama3 } ] }
            """, environment: [:])
        #expect(config.warnings.filter { $0.contains("unpinned") }.count == 1)
        #expect(config.warnings.contains { $0.contains("openai/gpt-4o-mini") })
    }
}
