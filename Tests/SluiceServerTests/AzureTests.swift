import Foundation
import SluiceCore
import SluiceTesting
import Testing

@Suite struct AzureOpenAITests {
    func config(_ upstream: FakeUpstream, apiVersion: String? = nil) -> String {
        let version = apiVersion.map { ", api_version: \"\($0)\"" } ?? ""
        return """
            providers:
              azure: { type: azure_openai, base_url: "http://127.0.0.1:\(upstream.port)/", api_key: "azure-secret-key-1"\(version) }
            models:
              gpt4o:
                targets:
                  - { provider: azure, model: gpt4o-prod }
            \(noRetry)
            """
    }

    @Test func callsGoToTheDeploymentWithApiKeyAndVersion() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(
            .text("from azure", model: "gpt-4o-2024-08-06", usage: Usage(inputTokens: 1000, outputTokens: 500, cachedTokens: 200)))
        try await Harness.with(config(upstream)) { h in
            let r = try await h.chat(#"{"model":"gpt4o","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(r.status == 200)
            #expect(r.json["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue == "from azure")
            #expect(r.header("X-Sluice-Provider") == "azure")
            #expect(r.header("X-Sluice-Model") == "gpt-4o-2024-08-06")
            let got = try #require(upstream.received.first)
            #expect(got.path == "/openai/deployments/gpt4o-prod/chat/completions")
            #expect(got.query == "api-version=2024-10-21")
            #expect(got.headers["api-key"] == "azure-secret-key-1")
            #expect(got.headers["authorization"] == nil)
            // Priced on the model Azure says answered, cached prompt tokens at their rate:
            // 800 × 2.50 + 200 × 1.25 + 500 × 10.00, per million.
            #expect(r.header("X-Sluice-Cost-Usd") == "0.00725")

            let s = try await h.chat(#"{"model":"gpt4o","stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(Harness.events(s.body).last == "[DONE]")
            #expect(upstream.received.last?.path == "/openai/deployments/gpt4o-prod/chat/completions")
        }
    }

    @Test func apiVersionIsConfigurableAndErrorsHideTheKey() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.status(401, message: "Access denied due to invalid subscription key azure-secret-key-1."))
        try await Harness.with(config(upstream, apiVersion: "2025-01-01-preview")) { h in
            let r = try await h.chat(#"{"model":"gpt4o","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(r.status == 502)
            #expect(!r.text.contains("azure-secret-key-1"))
            #expect(upstream.received.first?.query == "api-version=2025-01-01-preview")
            #expect(!h.logs.text.contains("azure-secret-key-1"))
        }
    }
}
