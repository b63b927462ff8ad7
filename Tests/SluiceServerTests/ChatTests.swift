import Foundation
import SluiceCore
import SluiceTesting
import Testing

@Suite struct ChatTests {
    @Test func noConfigStartAnswersSimSmall() async throws {
        try await Harness.with { h in
            let r = try await h.chat(#"{"model":"sim-small","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(r.status == 200)
            #expect(r.json["object"]?.stringValue == "chat.completion")
            #expect(r.header("X-Sluice-Model") == "sim-small-2025-01-01")
            #expect(r.header("X-Sluice-Provider") == "sim")
            let models = try await h.request(.GET, "/v1/models")
            #expect(models.json["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["sim-small", "sim-large"])
        }
    }

    @Test func forwardsToUpstreamAndRecordsTheCall() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.enqueue(.text("Bonjour", usage: Usage(inputTokens: 1000, outputTokens: 500, cachedTokens: 200)))
        try await Harness.with(upstreamConfig(upstream)) { h in
            let body = #"{"model":"fast","messages":[{"role":"user","content":"hello"}],"temperature":0.3,"a_new_openai_param":{"deep":[1,2]},"metadata":{"X-Sluice-Run-Id":"run-7","app":"web"}}"#
            let r = try await h.chat(body, headers: ["X-Sluice-Purpose": "triage", "X-Sluice-User": "u-1"])
            #expect(r.status == 200)
            #expect(r.json["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue == "Bonjour")
            // The upstream's fields survive untouched.
            #expect(r.json["service_tier"]?.stringValue == "default")
            #expect(r.header("X-Sluice-Provider") == "up")
            #expect(r.header("X-Sluice-Model") == "gpt-4o-mini-2024-07-18")
            #expect(r.header("X-Sluice-Attempts") == "1")
            #expect(r.header("X-Sluice-Cache") == "bypass")
            #expect(r.header("X-Sluice-Overhead-Ms").flatMap(Double.init) != nil)
            // 800 × 0.15 + 200 × 0.075 + 500 × 0.60, per million
            #expect(r.header("X-Sluice-Cost-Usd") == "0.000435")

            let sent = try #require(upstream.received.last)
            #expect(sent.path == "/v1/chat/completions")
            #expect(sent.headers["authorization"] == "Bearer sk-provider-secret-123")
            #expect(sent.headers["x-team"] == "blue")
            let json = try #require(sent.json)
            #expect(json["model"]?.stringValue == "gpt-4o-mini-2024-07-18")
            #expect(json["a_new_openai_param"] == ["deep": [1, 2]])
            #expect(json["temperature"]?.doubleValue == 0.3)
            #expect(json["metadata"] == nil, "metadata is never forwarded upstream")

            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.purpose == "triage")
            #expect(rec.runID == "run-7")
            #expect(rec.user == "u-1")
            #expect(rec.model == "fast")
            #expect(rec.provider == "up")
            #expect(rec.answeredModel == "gpt-4o-mini-2024-07-18")
            #expect(rec.status == .ok)
            #expect(rec.usage == Usage(inputTokens: 1000, outputTokens: 500, cachedTokens: 200))
            #expect(rec.costUSD.map { abs($0 - 0.000435) < 1e-12 } == true)
            #expect(rec.attempts.count == 1)
            #expect(rec.attempts.first?.status == 200)
            #expect(rec.output == "Bonjour")
            #expect(rec.params["temperature"]?.doubleValue == 0.3)
            #expect(rec.inputHash.count == 64)
            #expect(rec.requestBody?.contains("hello") == true)
            #expect(rec.latencyMs > 0)
        }
    }

    @Test func unpricedModelIsRecordedWithNullCostNotZero() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.enqueue(.text("x", model: "my-private-model-v9"))
        try await Harness.with(upstreamConfig(upstream)) { h in
            let r = try await h.chat(#"{"model":"private","messages":[{"role":"user","content":"hello"}]}"#)
            #expect(r.status == 200)
            #expect(r.header("X-Sluice-Cost-Usd") == nil)
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.costUSD == nil)
            #expect(h.logs.text.contains("model has no price"))
        }
    }

    @Test func pricingOverrideApplies() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.enqueue(.text("x", model: "my-private-model", usage: Usage(inputTokens: 1_000_000, outputTokens: 0)))
        let cfg = upstreamConfig(upstream, extra: "pricing:\n  my-private-model: { input: 2, output: 4 }\n")
        try await Harness.with(cfg) { h in
            let r = try await h.chat(#"{"model":"private","messages":[{"role":"user","content":"hello"}]}"#)
            #expect(r.header("X-Sluice-Cost-Usd") == "2")
        }
    }

    @Test func hashModeKeepsNoBodies() async throws {
        try await Harness.with("storage: { url: \"sqlite://{DB}\", log_bodies: hash }") { h in
            let r = try await h.chat(#"{"model":"sim-small","messages":[{"role":"user","content":"top secret plan"}]}"#)
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.requestBody == nil)
            #expect(rec.output == nil)
            #expect(rec.inputHash.count == 64)
            let file = try Data(contentsOf: URL(fileURLWithPath: h.dbPath + "-wal")) + Data(contentsOf: URL(fileURLWithPath: h.dbPath))
            #expect(file.range(of: Data("top secret plan".utf8)) == nil)
        }
    }

    @Test func redactedModeKeepsStructureNotText() async throws {
        try await Harness.with("storage: { url: \"sqlite://{DB}\", log_bodies: redacted }") { h in
            let r = try await h.chat(#"{"model":"sim-small","messages":[{"role":"user","content":"top secret plan"}],"temperature":1}"#)
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.requestBody?.contains("[redacted: 15 chars]") == true)
            #expect(rec.requestBody?.contains("top secret") == false)
            #expect(rec.output?.hasPrefix("[redacted:") == true)
        }
    }

    @Test func logsOneJSONLinePerCall() async throws {
        try await Harness.with { h in
            let r = try await h.chat(#"{"model":"sim-small","messages":[{"role":"user","content":"hi"}]}"#, headers: ["X-Sluice-Run-Id": "r-9"])
            let id = try #require(r.header("X-Sluice-Call-Id"))
            let line = try #require(h.logs.all.first { $0.contains(id) })
            let json = try JSON.parse(line)
            #expect(json["msg"]?.stringValue == "call")
            #expect(json["run_id"]?.stringValue == "r-9")
            #expect(json["purpose"]?.stringValue == "default")
            #expect(json["model"]?.stringValue == "sim-small")
            #expect(json["status"]?.stringValue == "ok")
            #expect(json["input_tokens"]?.intValue != nil)
            #expect(json["cost_usd"]?.doubleValue != nil)
            #expect(json["latency_ms"]?.doubleValue != nil)
        }
    }
}
