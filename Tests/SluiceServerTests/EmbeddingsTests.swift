import Foundation
import SluiceCore
import SluiceTesting
import Testing

@Suite struct EmbeddingsTests {
    func cfg(_ upstream: FakeUpstream) -> String {
        """
        providers:
          up: { type: openai_compatible, base_url: "\(upstream.baseURL)", api_key: "sk-provider-secret-123" }
          azure: { type: azure_openai, base_url: "http://127.0.0.1:\(upstream.port)", api_key: "azure-secret-key-1" }
          sim: { type: simulated }
        models:
          emb: { targets: [ { provider: up, model: text-embedding-3-small } ] }
          emb-azure: { targets: [ { provider: azure, model: embed-prod } ] }
          emb-chain:
            targets:
              - { provider: up, model: text-embedding-3-small }
              - { provider: sim, model: sim-embed, priority: 2 }
        \(noRetry)
        """
    }

    @Test func embeddingsAreForwardedLoggedAndCosted() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        var reply = FakeUpstream.Reply()
        reply.usage = Usage(inputTokens: 1_000_000)
        reply.answeredModel = "text-embedding-3-small"
        upstream.setDefault(reply)
        try await Harness.with(cfg(upstream)) { h in
            let r = try await h.request(
                .POST, "/v1/embeddings", body: #"{"model":"emb","input":["alpha","beta"],"dimensions":3,"metadata":{"x-sluice-purpose":"search"}}"#)
            #expect(r.status == 200, "\(r.text)")
            #expect(r.json["data"]?.arrayValue?.count == 2)
            // 1M input tokens of text-embedding-3-small at $0.02 per million.
            #expect(r.header("X-Sluice-Cost-Usd") == "0.02")
            let got = try #require(upstream.received.first)
            #expect(got.path == "/v1/embeddings")
            #expect(got.json?["dimensions"]?.intValue == 3)
            #expect(got.json?["metadata"] == nil)
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.purpose == "search")
            #expect(rec.usage.inputTokens == 1_000_000)
            #expect(rec.costUSD == 0.02)
            #expect(rec.output == "[2 embeddings]")
            #expect(rec.attempts.map(\.status) == [200])

            let az = try await h.request(.POST, "/v1/embeddings", body: #"{"model":"emb-azure","input":"hello"}"#)
            #expect(az.status == 200)
            #expect(upstream.received.last?.path == "/openai/deployments/embed-prod/embeddings")
            #expect(upstream.received.last?.headers["api-key"] == "azure-secret-key-1")
        }
    }

    @Test func embeddingsFallBackAndBadInputIs400() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.status(503, message: "overloaded"))
        try await Harness.with(cfg(upstream)) { h in
            let r = try await h.request(.POST, "/v1/embeddings", body: #"{"model":"emb-chain","input":["a","b","c"],"dimensions":8}"#)
            #expect(r.status == 200)
            #expect(r.header("X-Sluice-Provider") == "sim")
            let vectors = r.json["data"]?.arrayValue ?? []
            #expect(vectors.count == 3)
            #expect(vectors.first?["embedding"]?.arrayValue?.count == 8)
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.attempts.map(\.status) == [503, 200])

            for (body, field) in [
                (#"{"model":"emb"}"#, "input"), (#"{"model":"emb","input":[]}"#, "input"),
                (#"{"model":"emb","input":[1,"x"]}"#, "input[0]"), (#"{"input":"x"}"#, "model"),
                (#"{"model":"emb","input":"x","dimensions":0}"#, "dimensions"),
            ] {
                let bad = try await h.request(.POST, "/v1/embeddings", body: body)
                #expect(bad.status == 400, "\(body)")
                #expect(bad.json["error"]?["param"]?.stringValue == field, "\(body): \(bad.text)")
            }
        }
    }
}
