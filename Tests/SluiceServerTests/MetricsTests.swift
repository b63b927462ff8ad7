import Foundation
import SluiceCore
import SluiceTesting
import Testing

/// `GET /metrics` after a few tagged calls: per-purpose counters, latency buckets,
/// tokens, cost, cache lookups, queue depths and budgets, with bounded labels.
@Suite struct MetricsTests {
    @Test func taggedCallsShowUpPerPurposeWithBoundedLabels() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("ok", usage: Usage(inputTokens: 100, outputTokens: 20, cachedTokens: 40)))
        let yaml = upstreamConfig(upstream, extra: """
            pricing:
              gpt-4o-mini-2024-07-18: { input: 1.0, output: 2.0, cached_input: 0.5 }
            purposes:
              triage: { model: fast, daily_budget_usd: 1.0, cache: { ttl: 1h } }
              summarize: { model: fast }
            \(noRetry)
            """)
        try await Harness.with(yaml) { h in
            for _ in 0..<3 { #expect(try await h.chat(simpleChat, headers: ["X-Sluice-Purpose": "triage"]).status == 200) }
            #expect(try await h.chat(simpleChat.replacingOccurrences(of: "hello", with: "bye"), headers: ["X-Sluice-Purpose": "summarize"]).status == 200)
            upstream.enqueue(.status(500))
            #expect(try await h.chat(simpleChat.replacingOccurrences(of: "hello", with: "fail"), headers: ["X-Sluice-Purpose": "summarize"]).status == 502)
            // An unknown model is refused and counted under `other`, never under the client's name.
            #expect(try await h.chat(#"{"model":"made-up-by-client","messages":[{"role":"user","content":"x"}]}"#).status == 400)

            await h.gateway.callLog.flush()
            let m = try await h.request(.GET, "/metrics").text
            // The first triage call went upstream; the next two were cache hits of its answer.
            #expect(m.contains(#"sluice_requests_total{purpose="triage",model="fast",provider="up",status="ok"} 3"#), "\(m)")
            #expect(m.contains(#"sluice_cache_lookups_total{purpose="triage",result="hit"} 2"#))
            #expect(m.contains(#"sluice_cache_lookups_total{purpose="triage",result="miss"} 1"#))
            #expect(m.contains(#"sluice_cache_saved_usd_total{purpose="triage"} 0.00026"#))
            #expect(m.contains(#"sluice_requests_total{purpose="summarize",model="fast",provider="up",status="error"} 1"#))
            #expect(m.contains(#"sluice_requests_total{purpose="default",model="other",provider="none",status="error"} 1"#))
            #expect(!m.contains("made-up-by-client"))
            #expect(m.contains(#"sluice_tokens_total{purpose="summarize",model="fast",type="input"} 100"#))
            #expect(m.contains(#"sluice_tokens_total{purpose="summarize",model="fast",type="output"} 20"#))
            #expect(m.contains(#"sluice_tokens_total{purpose="summarize",model="fast",type="cached"} 40"#))
            // (60 × 1.0 + 40 × 0.5 + 20 × 2.0) / 1e6 per upstream call.
            #expect(m.contains(#"sluice_cost_usd_total{purpose="summarize",model="fast"} 0.00012"#), "\(m)")
            #expect(m.contains(#"sluice_request_duration_seconds_bucket{purpose="summarize",model="fast",le="+Inf"} 2"#))
            #expect(m.contains(#"sluice_request_duration_seconds_count{purpose="triage",model="fast"} 3"#))
            #expect(m.contains(#"sluice_call_log_pending"#))
            #expect(m.contains(#"sluice_tasks{status="queued"} 0"#))
            #expect(m.contains(#"sluice_budget_remaining_usd{purpose="triage"} 0.99988"#), "\(m)")
        }
    }
}
