import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// `POST /v1/chat/completions`: the cells of docs/guarantees.md no older suite covers,
/// mostly streams (`"stream": true`).
@Suite struct GuaranteesChatTests {
    typealias F = GuaranteeFixture

    static func body(_ text: String, model: String = "fast", stream: Bool, extra: String = "") -> String {
        #"{"model":"\#(model)","max_tokens":100,"stream":\#(stream),"messages":[{"role":"user","content":"\#(text)"}]\#(extra)}"#
    }

    /// A stream a policy refuses is an ordinary JSON error before any event (no `200` head, no
    /// upstream call) and a call record: scope, kill switch, rate limit, budget, input guard, PII.
    @Test func aStreamIsRefusedBeforeItOpens() async throws {
        try await F.with { f in
            try await Harness.with(try f.config(), clock: F.stillClock()) { h in
                func stream(_ key: [String: String], _ purpose: String, _ text: String = "hi") async throws -> HTTPResult {
                    try await h.chat(Self.body(text, stream: true), headers: F.headers(key, purpose: purpose))
                }
                let scope = try await stream(F.narrow, "guarded")
                try await F.expectRefused(h, scope, 403)
                #expect(scope.json["error"]?["code"] == "forbidden")

                try await F.kill(h, purpose: "killed")
                let killed = try await stream(F.app, "killed")
                try await F.expectRefused(h, killed, 503)
                #expect(killed.json["error"]?["code"] == "disabled")

                let guarded = try await stream(F.app, "guarded", "please drop  table users")
                try await F.expectRefused(h, guarded, 400)
                #expect(guarded.json["error"]?["code"] == "guard_blocked")

                let pii = try await stream(F.app, "strict", "mail jane.doe@example.com")
                try await F.expectRefused(h, pii, 400)
                #expect(pii.json["error"]?["code"] == "pii_detected")
                #expect(f.primary.requestCount == 0)

                // One request a minute: the second stream is refused.
                #expect(Harness.events(try await stream(F.limited, "open").body).last == "[DONE]")
                let limited = try await stream(F.limited, "open")
                try await F.expectRefused(h, limited, 429)
                #expect(limited.json["error"]?["code"] == "rate_limited")

                // The day's budget fits one call.
                #expect(Harness.events(try await stream(F.app, "capped").body).last == "[DONE]")
                let capped = try await stream(F.app, "capped")
                try await F.expectRefused(h, capped, 429)
                #expect(capped.json["error"]?["code"] == "budget_exceeded")
                #expect(f.primary.requestCount == 2)
            }
        }
    }

    /// A stream cannot be repaired once sent: its answer is checked against the schema at the
    /// end and the verdict recorded (the purpose's `output_schema`, or the request's
    /// `response_format`). Streamed calls are counted in `/metrics` with their time to first token.
    @Test func aStreamedAnswerIsCheckedAgainstItsSchemaAndCounted() async throws {
        try await F.with { f in
            try await Harness.with(try f.config()) { h in
                let headers = F.headers(F.app, purpose: "schema")
                f.primary.enqueue(F.reply(#"{"answer":"42"}"#), F.reply("no JSON here"))
                let valid = try await h.chat(Self.body("q", stream: true), headers: headers)
                #expect(F.streamedText(valid.body) == #"{"answer":"42"}"#)
                #expect(try await h.record(valid.header("X-Sluice-Call-Id")).schemaValid == true)
                let invalid = try await h.chat(Self.body("q", stream: true), headers: headers)
                #expect(F.streamedText(invalid.body) == "no JSON here")
                #expect(Harness.events(invalid.body).last == "[DONE]")
                let rec = try await h.record(invalid.header("X-Sluice-Call-Id"))
                #expect(rec.schemaValid == false && rec.repairs == 0 && rec.stream)
                #expect(f.primary.requestCount == 2, "a stream is never repaired")
                #expect(f.primary.received.first?.json?["response_format"]?["type"] == "json_schema")

                let format = #","response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{"type":"object","required":["answer"]}}}"#
                f.primary.enqueue(F.reply(#"{"nope":1}"#))
                let raw = try await h.chat(Self.body("q", stream: true, extra: format), headers: F.app)
                #expect(try await h.record(raw.header("X-Sluice-Call-Id")).schemaValid == false)

                let m = try await F.metrics(h)
                #expect(m.contains(#"sluice_requests_total{purpose="schema",model="fast",provider="primary",status="ok"} 2"#), "\(m)")
                #expect(m.contains(#"sluice_time_to_first_token_seconds_count{purpose="schema",model="fast"} 2"#), "\(m)")
            }
        }
    }

    /// A raw call's `response_format` schema is enforced on its whole answer: an invalid one
    /// is repaired with the validator's errors. A whole answer an output guard blocks is a
    /// `422 output_blocked`, and none of its text is sent.
    @Test func aWholeAnswerIsRepairedOrBlocked() async throws {
        try await F.with { f in
            try await Harness.with(try f.config()) { h in
                let format = #","response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{"type":"object","required":["answer"]}}}"#
                f.primary.enqueue(F.reply("The answer is 42."), F.reply(#"{"answer":"42"}"#))
                let repaired = try await h.chat(Self.body("q", stream: false, extra: format), headers: F.app)
                #expect(repaired.status == 200, "\(repaired.text)")
                #expect(repaired.json["choices"]?.arrayValue?.first?["message"]?["content"] == #"{"answer":"42"}"#)
                let rec = try await h.record(repaired.header("X-Sluice-Call-Id"))
                #expect(rec.repairs == 1 && rec.schemaValid == true)

                f.primary.enqueue(F.reply(F.secret))
                let r = try await h.chat(Self.body("hi", stream: false), headers: F.headers(F.app, purpose: "guarded"))
                try await F.expectRefused(h, r, 422)
                #expect(r.json["error"]?["code"] == "output_blocked")
                #expect(r.json["error"]?["param"] == "guard:no_secrets")
                #expect(!r.text.contains("0000"))
            }
        }
    }
}
