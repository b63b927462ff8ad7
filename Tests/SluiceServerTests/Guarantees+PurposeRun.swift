import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// `POST /v1/purposes/{purpose}/run`: the Engine's policies on a rendered prompt, answered
/// in the run's native shape. A run always answers whole.
@Suite struct GuaranteesPurposeRunTests {
    typealias F = GuaranteeFixture

    static func run(
        _ h: Harness, _ key: [String: String], _ purpose: String, _ text: String = "hi", body: String? = nil, _ more: [String: String] = [:]
    ) async throws -> HTTPResult {
        try await h.request(
            .POST, "/v1/purposes/\(purpose)/run", body: body ?? #"{"variables":{"text":"\#(text)"}}"#, headers: key.merging(more) { $1 })
    }

    /// Scope, kill switch, rate limit, budget, input guard and PII (block, and redact with the
    /// values restored in the run's text) hold on the rendered prompt.
    @Test func admissionHoldsForRuns() async throws {
        try await F.with { f in
            try await Harness.with(try f.config(), clock: F.stillClock()) { h in
                let scope = try await Self.run(h, F.narrow, "guarded")
                try await F.expectRefused(h, scope, 403)
                #expect(scope.json["error"]?["code"] == "forbidden")
                #expect(try await Self.run(h, F.narrow, "open").status == 200)

                try await F.kill(h, purpose: "killed")
                let killed = try await Self.run(h, F.app, "killed")
                try await F.expectRefused(h, killed, 503)
                #expect(killed.json["error"]?["code"] == "disabled")

                let guarded = try await Self.run(h, F.app, "guarded", "please DROP TABLE users")
                try await F.expectRefused(h, guarded, 400)
                #expect(guarded.json["error"]?["code"] == "guard_blocked")

                let pii = try await Self.run(h, F.app, "strict", "mail jane.doe@example.com")
                try await F.expectRefused(h, pii, 400)
                #expect(pii.json["error"]?["code"] == "pii_detected")
                #expect(f.primary.requestCount == 1)

                #expect(try await Self.run(h, F.limited, "open").status == 200)
                let limited = try await Self.run(h, F.limited, "open")
                try await F.expectRefused(h, limited, 429)
                #expect(limited.json["error"]?["code"] == "rate_limited")

                #expect(try await Self.run(h, F.app, "capped").status == 200)
                let capped = try await Self.run(h, F.app, "capped")
                try await F.expectRefused(h, capped, 429)
                #expect(capped.json["error"]?["code"] == "budget_exceeded")

                let redacted = try await Self.run(h, F.app, "redacted", "mail jane.doe@example.com please")
                #expect(redacted.status == 200, "\(redacted.text)")
                let sent = String(decoding: f.primary.received.last?.body ?? [], as: UTF8.self)
                #expect(!sent.contains("jane.doe") && sent.contains("<EMAIL_1>"), "\(sent)")
                #expect(redacted.json["text"] == "fake answer to: mail jane.doe@example.com please")
                #expect(f.primary.requestCount == 4)
            }
        }
    }

    /// Retries on the primary, then the fallback answers the run.
    @Test func routingHoldsForRuns() async throws {
        try await F.with { f in
            f.primary.setDefault(.status(503, message: "primary down"))
            try await Harness.with(try f.config()) { h in
                let r = try await Self.run(h, F.app, "chained")
                #expect(r.status == 200, "\(r.text)")
                #expect(r.json["text"] == "fake answer to: hi")
                #expect(r.json["model"] == "backup-model-1")
                let rec = try await h.record(r.json["call_id"]?.stringValue)
                #expect(rec.attempts.map(\.status) == [503, 503, 200] && rec.attempts.map(\.provider) == ["primary", "primary", "backup"])
            }
        }
    }

    /// An output guard blocks the run's answer (`422`, none of its text); `review: always`
    /// queues it and the run says so in `review_id`.
    @Test func outputPoliciesHoldForRuns() async throws {
        try await F.with { f in
            try await Harness.with(try f.config()) { h in
                f.primary.enqueue(F.reply(F.secret))
                let blocked = try await Self.run(h, F.app, "guarded")
                try await F.expectRefused(h, blocked, 422)
                #expect(blocked.json["error"]?["code"] == "output_blocked")
                #expect(!blocked.text.contains("0000"))

                let reviewed = try await Self.run(h, F.app, "reviewed")
                #expect(reviewed.status == 200, "\(reviewed.text)")
                let id = try #require(reviewed.json["review_id"]?.stringValue)
                let items = try await h.gateway.store.reviews(status: nil, purpose: "reviewed", limit: 10, before: nil)
                #expect(items.contains { $0.id == id && $0.callID == reviewed.json["call_id"]?.stringValue && $0.reason == "always" })
            }
        }
    }

    /// `Idempotency-Key` on a run: the repeat is replayed, another body under the key is a `409`.
    @Test func idempotencyReplaysARun() async throws {
        try await F.with { f in
            try await Harness.with(try f.config()) { h in
                let key = ["Idempotency-Key": "run-1"]
                let first = try await Self.run(h, F.app, "open", "once", key)
                #expect(first.status == 200 && first.header("Idempotent-Replayed") == nil, "\(first.text)")
                let again = try await Self.run(h, F.app, "open", "once", key)
                #expect(again.header("Idempotent-Replayed") == "true")
                #expect(again.body == first.body)
                let other = try await Self.run(h, F.app, "open", "twice", key)
                #expect(other.status == 409 && other.json["error"]?["code"] == "idempotency_conflict")
                #expect(f.primary.requestCount == 1)
            }
        }
    }

    /// A run is a Prometheus series like any call; it cannot ask to stream (the n/a stream
    /// column of docs/guarantees.md): `stream` is not a field of a run.
    @Test func runsAreCountedAndAnswerWholeOnly() async throws {
        try await F.with { f in
            try await Harness.with(try f.config()) { h in
                let r = try await Self.run(h, F.app, "open")
                #expect(r.status == 200 && r.header("content-type")?.hasPrefix("application/json") == true, "\(r.text)")
                let m = try await F.metrics(h)
                #expect(m.contains(#"sluice_requests_total{purpose="open",model="fast",provider="primary",status="ok"} 1"#), "\(m)")

                let streamed = try await Self.run(h, F.app, "open", body: #"{"variables":{"text":"hi"},"stream":true}"#)
                #expect(streamed.status == 400)
                #expect(streamed.json["error"]?["param"] == "stream")
                #expect(f.primary.requestCount == 1)
            }
        }
    }
}
