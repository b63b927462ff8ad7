import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// `POST /v1/embeddings`: the Engine's input-side policies on embedding calls (they have
/// no answer text, so no output policies), answered whole.
@Suite struct GuaranteesEmbeddingsTests {
    typealias F = GuaranteeFixture

    static func embed(_ h: Harness, _ key: [String: String], _ purpose: String, _ input: String = "hi", _ more: [String: String] = [:]) async throws
        -> HTTPResult
    {
        try await h.request(.POST, "/v1/embeddings", body: #"{"model":"emb","input":["\#(input)"]}"#, headers: F.headers(key, purpose: purpose, more))
    }

    /// Scope, kill switch, rate limit, budget and PII (block, and redact before the provider) hold.
    @Test func admissionHoldsForEmbeddings() async throws {
        try await F.with { f in
            try await Harness.with(try f.config(), clock: F.stillClock()) { h in
                let scope = try await Self.embed(h, F.narrow, "guarded")
                try await F.expectRefused(h, scope, 403)
                #expect(scope.json["error"]?["code"] == "forbidden")

                try await F.kill(h, purpose: "killed")
                let killed = try await Self.embed(h, F.app, "killed")
                try await F.expectRefused(h, killed, 503)
                #expect(killed.json["error"]?["code"] == "disabled")

                let pii = try await Self.embed(h, F.app, "strict", "mail jane.doe@example.com")
                try await F.expectRefused(h, pii, 400)
                #expect(pii.json["error"]?["code"] == "pii_detected")
                #expect(f.primary.requestCount == 0)

                #expect(try await Self.embed(h, F.limited, "open").status == 200)
                let limited = try await Self.embed(h, F.limited, "open")
                try await F.expectRefused(h, limited, 429)
                #expect(limited.json["error"]?["code"] == "rate_limited")

                // An embedding of "hi" is reserved at $0.0009 and costs $0.001: one fits the $0.0015.
                #expect(try await Self.embed(h, F.app, "capped").status == 200)
                let capped = try await Self.embed(h, F.app, "capped")
                try await F.expectRefused(h, capped, 429)
                #expect(capped.json["error"]?["code"] == "budget_exceeded")

                let redacted = try await Self.embed(h, F.app, "redacted", "mail jane.doe@example.com please")
                #expect(redacted.status == 200, "\(redacted.text)")
                #expect(f.primary.received.last?.json?["input"] == ["mail <EMAIL_1> please"])
                #expect(f.primary.requestCount == 3)
            }
        }
    }

    /// The purpose's input guards apply to the texts to embed, as to a chat call's messages.
    @Test func inputGuardsApplyToEmbeddings() async throws {
        try await F.with { f in
            try await Harness.with(try f.config()) { h in
                let r = try await Self.embed(h, F.app, "guarded", "please drop table users")
                try await F.expectRefused(h, r, 400)
                #expect(r.json["error"]?["code"] == "guard_blocked")
                #expect(f.primary.requestCount == 0)
            }
        }
    }

    /// `Idempotency-Key` on embeddings: the repeat is replayed without a second upstream call.
    @Test func idempotencyReplaysEmbeddings() async throws {
        try await F.with { f in
            try await Harness.with(try f.config()) { h in
                let key = ["Idempotency-Key": "emb-1"]
                let first = try await Self.embed(h, F.app, "open", "once", key)
                #expect(first.status == 200 && first.header("Idempotent-Replayed") == nil, "\(first.text)")
                let again = try await Self.embed(h, F.app, "open", "once", key)
                #expect(again.header("Idempotent-Replayed") == "true")
                #expect(again.body == first.body)
                #expect(f.primary.requestCount == 1)
            }
        }
    }

    /// An embedding call is a Prometheus series and an `embeddings` span.
    @Test func embeddingsAreTracedAndCounted() async throws {
        let receiver = try await OTLPReceiver.start()
        defer { Task { await receiver.stop() } }
        var id = ""
        try await F.with { f in
            try await Harness.with(try f.config(tracing: receiver)) { h in
                let r = try await Self.embed(h, F.app, "open")
                #expect(r.status == 200, "\(r.text)")
                id = try #require(r.header("X-Sluice-Call-Id"))
                let m = try await F.metrics(h)
                #expect(m.contains(#"sluice_requests_total{purpose="open",model="emb",provider="primary",status="ok"} 1"#), "\(m)")
                #expect(m.contains(#"sluice_tokens_total{purpose="open",model="emb",type="input"} 10"#), "\(m)")
            }
        }
        await F.expectSpans(receiver, [id])
        #expect(receiver.spans.first { $0.string("sluice.call_id") == id && $0.kind == 2 }?.string("gen_ai.operation.name") == "embeddings")
    }
}
