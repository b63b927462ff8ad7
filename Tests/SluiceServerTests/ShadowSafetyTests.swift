import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// Shadows of raw chat calls, and what a shadow may never do to the live call: slow it, fail it, or spend past its budget.
@Suite struct ShadowSafetyTests {
    static func config(_ live: FakeUpstream, _ shadow: FakeUpstream, purposes: String) -> String {
        """
        providers:
          up: { type: openai_compatible, base_url: "\(live.baseURL)" }
          alt: { type: openai_compatible, base_url: "\(shadow.baseURL)" }
        models:
          fast: { targets: [ { provider: up, model: live-model-1 } ] }
          smart: { targets: [ { provider: alt, model: shadow-model-1 } ] }
        pricing:
          live-model-1: { input: 0.5, output: 1.0 }
          shadow-model-1: { input: 1.0, output: 2.0 }
        \(noRetry)
        purposes:
        \(purposes)
        """
    }

    static let chat = #"{"model":"fast","messages":[{"role":"user","content":"hello"}]}"#

    func shadowRows(_ h: Harness, _ purpose: String) async throws -> [CallRecord] {
        await h.gateway.callLog.flush()
        return try await h.gateway.store.list(CallFilter(purpose: purpose + ":shadow", limit: 100))
    }

    /// A raw call with the purpose in the header or in metadata is shadowed with the shadow's model,
    /// a stream too (whole, once it ended); cache hits and unsampled calls are not.
    @Test func rawCallsAreShadowedWithTheShadowModel() async throws {
        let live = try await FakeUpstream.start()
        let shadow = try await FakeUpstream.start()
        defer { Task { await live.stop(); await shadow.stop() } }
        shadow.setDefault(.text("shadow answer"))
        let purposes = """
              support: { model: fast, shadow: { model: smart, sample: 1 } }
              cached: { model: fast, cache: { ttl: 1h }, shadow: { model: smart, sample: 1 } }
              half: { model: fast, shadow: { model: smart, sample: 0.5 } }
              plain: { model: fast }
            """
        try await Harness.with(Self.config(live, shadow, purposes: purposes)) { h in
            let header = try await h.chat(Self.chat, headers: ["X-Sluice-Purpose": "support", "X-Sluice-Run-Id": "run-9", "X-Sluice-User": "u1"])
            #expect(header.status == 200)
            let meta = #"{"model":"fast","messages":[{"role":"user","content":"hi"}],"metadata":{"X-Sluice-Purpose":"support","x-sluice-user":"u2","team":"a"}}"#
            let viaMetadata = try await h.chat(meta)
            #expect(viaMetadata.status == 200)
            let stream = try await h.chat(
                #"{"model":"fast","stream":true,"messages":[{"role":"user","content":"s"}]}"#, headers: ["X-Sluice-Purpose": "support"])
            #expect(stream.status == 200)
            _ = try await h.chat(Self.chat, headers: ["X-Sluice-Purpose": "plain"])
            _ = try await h.chat(Self.chat)
            await h.gateway.shadows.idle()
            let rows = try await shadowRows(h, "support")
            #expect(rows.count == 3)
            #expect(
                Set(rows.compactMap(\.shadowOf))
                    == [header.header("X-Sluice-Call-Id"), viaMetadata.header("X-Sluice-Call-Id"), stream.header("X-Sluice-Call-Id")])
            #expect(rows.allSatisfy { $0.model == "smart" && $0.status == .ok && $0.runID == nil && $0.keyName == nil && !$0.stream })
            #expect(Set(rows.compactMap(\.user)) == ["u1", "u2"])
            #expect(rows.allSatisfy { $0.output == "shadow answer" })
            #expect(shadow.received.count == 3)
            #expect(shadow.received.allSatisfy { $0.json?["model"] == "shadow-model-1" && $0.json?["metadata"] == nil })
            let stored = rows.first { $0.user == "u2" }?.requestBody ?? ""
            #expect(stored.contains("\"team\"") && !stored.lowercased().contains("x-sluice"), "\(stored)")

            // A cache hit is not shadowed (the first, a miss, is).
            for _ in 0..<2 { _ = try await h.chat(Self.chat, headers: ["X-Sluice-Purpose": "cached"]) }
            await h.gateway.shadows.idle()
            #expect(try await shadowRows(h, "cached").count == 1)

            // The sample draws from the injected source.
            h.gateway.shadows.setRandom { 0.7 }
            _ = try await h.chat(Self.chat, headers: ["X-Sluice-Purpose": "half"])
            h.gateway.shadows.setRandom { 0.2 }
            _ = try await h.chat(Self.chat, headers: ["X-Sluice-Purpose": "half"])
            await h.gateway.shadows.idle()
            #expect(try await shadowRows(h, "half").count == 1)
            #expect(h.gateway.shadows.counters["half"]?.sampled == 1)
        }
    }

    /// A shadow model that takes 6 s: the live answers come back long before (the bounds leave a
    /// loaded CI machine room, and are still far below what waiting for a shadow would take),
    /// the shadow rows later;
    /// with max_concurrency 2, a third sample while two run is skipped and counted.
    @Test func aSlowShadowNeverDelaysTheLiveCall() async throws {
        try await exclusively {
            let live = try await FakeUpstream.start()
            let shadow = try await FakeUpstream.start()
            defer { Task { await live.stop(); await shadow.stop() } }
            var slow = FakeUpstream.Reply.text("late")
            slow.delayMs = 6000
            shadow.setDefault(slow)
            let purposes = "  support: { model: fast, shadow: { model: smart, sample: 1, max_concurrency: 2 } }"
            try await Harness.with(Self.config(live, shadow, purposes: purposes)) { h in
                let started = ContinuousClock.now
                for _ in 0..<3 {
                    let t0 = ContinuousClock.now
                    let r = try await h.chat(Self.chat, headers: ["X-Sluice-Purpose": "support"])
                    #expect(r.status == 200)
                    #expect(ContinuousClock.now - t0 < .milliseconds(4000), "a live call waited for its shadow")
                }
                #expect(ContinuousClock.now - started < .milliseconds(5500))
                #expect(try await shadowRows(h, "support").isEmpty, "shadow rows before the slow shadow answered")
                #expect(h.gateway.shadows.inFlight == 2)
                await h.gateway.shadows.idle()
                let rows = try await shadowRows(h, "support")
                #expect(rows.count == 2 && rows.allSatisfy { $0.status == .ok && $0.latencyMs >= 5900 })
                let counters = try #require(h.gateway.shadows.counters["support"])
                #expect(counters.sampled == 3 && counters.skippedBusy == 1 && counters.completed == 2)
                let report = try await h.request(.GET, "/admin/shadow/support")
                #expect(report.json["this_node"]?["skipped_busy"] == 1)
                #expect(report.json["pairs"] == 2)
                let shadowP50 = report.json["shadow"]?["latency_ms"]?["p50"]?.doubleValue ?? 0
                let liveP50 = report.json["primary"]?["latency_ms"]?["p50"]?.doubleValue ?? .infinity
                #expect(shadowP50 >= 5900 && liveP50 < 4000)
            }
        }
    }

    /// A shadow whose model fails: every live call still answers 200; the report counts the shadow's errors.
    @Test func aFailingShadowNeverFailsTheLiveCall() async throws {
        let live = try await FakeUpstream.start()
        let shadow = try await FakeUpstream.start()
        defer { Task { await live.stop(); await shadow.stop() } }
        shadow.setDefault(.status(500, message: "shadow model down"))
        let purposes = "  support: { model: fast, shadow: { model: smart, sample: 1 } }"
        try await Harness.with(Self.config(live, shadow, purposes: purposes)) { h in
            for _ in 0..<3 {
                let r = try await h.chat(Self.chat, headers: ["X-Sluice-Purpose": "support"])
                #expect(r.status == 200, "\(r.text)")
                await h.gateway.shadows.idle()
            }
            let report = try await h.request(.GET, "/admin/shadow/support").json
            #expect(report["pairs"] == 3)
            #expect(report["shadow"]?["errors"] == 3 && report["primary"]?["errors"] == 0)
            #expect(report["agreement"]?["compared"] == 0)
            #expect(h.gateway.shadows.counters["support"]?.failed == 3)
        }
    }

    /// With the day's shadow budget spent, later samples are skipped (no call, no row, no error to anyone).
    @Test func aSpentShadowBudgetSkipsShadows() async throws {
        let live = try await FakeUpstream.start()
        let shadow = try await FakeUpstream.start()
        defer { Task { await live.stop(); await shadow.stop() } }
        shadow.setDefault(.text("ok", usage: Usage(inputTokens: 500, outputTokens: 20)))
        let purposes = "  support: { model: fast, shadow: { model: smart, sample: 1, daily_budget_usd: 0.0001 } }"
        try await Harness.with(Self.config(live, shadow, purposes: purposes)) { h in
            for _ in 0..<4 {
                let r = try await h.chat(Self.chat, headers: ["X-Sluice-Purpose": "support"])
                #expect(r.status == 200)
                await h.gateway.shadows.idle()
            }
            // The first run cost $0.00054, past the $0.0001 cap: the other three were skipped.
            #expect(shadow.received.count == 1)
            #expect(try await shadowRows(h, "support").count == 1)
            let counters = try #require(h.gateway.shadows.counters["support"])
            #expect(counters.sampled == 4 && counters.completed == 1 && counters.skippedBudget == 3 && counters.failed == 0)
        }
    }
}
