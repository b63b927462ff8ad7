import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// `POST /v1/messages` (Anthropic clients) to an OpenAI-family target: every policy of the
/// Engine, whole and streamed, with errors and events in Anthropic's shapes.
@Suite struct GuaranteesMessagesTests {
    typealias F = GuaranteeFixture

    static func body(_ text: String, model: String = "fast", stream: Bool) -> String {
        #"{"model":"\#(model)","max_tokens":100,"stream":\#(stream),"messages":[{"role":"user","content":"\#(text)"}]}"#
    }

    static func send(
        _ h: Harness, _ key: [String: String], _ purpose: String, _ text: String = "hi", model: String = "fast", stream: Bool,
        _ more: [String: String] = [:]
    ) async throws -> HTTPResult {
        try await h.request(.POST, "/v1/messages", body: body(text, model: model, stream: stream), headers: F.headers(key, purpose: purpose, more))
    }

    /// The SSE event names of an Anthropic stream.
    static func eventNames(_ r: HTTPResult) -> [String] {
        r.text.components(separatedBy: "\n").filter { $0.hasPrefix("event: ") }.map { String($0.dropFirst(7)) }
    }

    /// The text of a whole Anthropic message or of its stream's deltas.
    static func text(_ r: HTTPResult) -> String {
        if r.json["type"] == "message" { return r.json["content"]?.arrayValue?.compactMap { $0["text"]?.stringValue }.joined() ?? "" }
        return r.text.components(separatedBy: "\n").filter { $0.hasPrefix("data: ") }
            .compactMap { try? JSON.parse(String($0.dropFirst(6))) }.compactMap { $0["delta"]?["text"]?.stringValue }.joined()
    }

    /// An Anthropic error body with this status.
    static func expectAnthropicError(
        _ h: Harness, _ r: HTTPResult, _ status: Int, _ type: String, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        try await F.expectRefused(h, r, status, sourceLocation: sourceLocation)
        #expect(r.json["type"] == "error" && r.json["error"]?["type"]?.stringValue == type, "\(r.text)", sourceLocation: sourceLocation)
    }

    /// Scope, kill switch, rate limit, budget, input guard and PII (block and redact) hold
    /// whole and streamed; a refused stream is an Anthropic error body, never an event stream.
    @Test func admissionHoldsWholeAndStreamed() async throws {
        try await F.with { f in
            let clock = F.stillClock()
            try await Harness.with(try f.config(), clock: clock) { h in
                try await F.kill(h, purpose: "killed")
                for stream in [false, true] {
                    let base = f.primary.requestCount
                    try await Self.expectAnthropicError(h, try await Self.send(h, F.narrow, "guarded", stream: stream), 403, "permission_error")
                    let killed = try await Self.send(h, F.app, "killed", stream: stream)
                    try await Self.expectAnthropicError(h, killed, 503, "overloaded_error")
                    #expect(killed.json["error"]?["message"]?.stringValue?.contains("incident 7") == true)
                    let guarded = try await Self.send(h, F.app, "guarded", "please drop table users", stream: stream)
                    try await Self.expectAnthropicError(h, guarded, 400, "invalid_request_error")
                    #expect(guarded.json["error"]?["message"]?.stringValue?.contains("no_sql") == true)
                    let pii = try await Self.send(h, F.app, "strict", "mail jane.doe@example.com", stream: stream)
                    try await Self.expectAnthropicError(h, pii, 400, "invalid_request_error")
                    #expect(pii.json["error"]?["message"]?.stringValue?.contains("EMAIL") == true)
                    #expect(f.primary.requestCount == base)

                    #expect(try await Self.send(h, F.limited, "open", stream: stream).status == 200)
                    try await Self.expectAnthropicError(h, try await Self.send(h, F.limited, "open", stream: stream), 429, "rate_limit_error")
                    #expect(try await Self.send(h, F.app, "capped", stream: stream).status == 200)
                    let capped = try await Self.send(h, F.app, "capped", stream: stream)
                    try await Self.expectAnthropicError(h, capped, 429, "rate_limit_error")
                    #expect(capped.json["error"]?["message"]?.stringValue?.contains("daily budget") == true)

                    let redacted = try await Self.send(h, F.app, "redacted", "mail jane.doe@example.com please", stream: stream)
                    #expect(redacted.status == 200, "\(redacted.text)")
                    let sent = String(decoding: f.primary.received.last?.body ?? [], as: UTF8.self)
                    #expect(!sent.contains("jane.doe") && sent.contains("<EMAIL_1>"), "\(sent)")
                    #expect(Self.text(redacted) == "fake answer to: mail jane.doe@example.com please", "\(redacted.text)")
                    #expect(f.primary.requestCount == base + 3)
                    // A new minute and a new day for the streamed round.
                    clock.advance(86_400)
                }
            }
        }
    }

    /// Retries and fallbacks, then the cache: a whole call stores, a whole and a streamed
    /// call with the same input are served from it (the stream synthesized as Anthropic events).
    @Test func routingAndCacheHoldWholeAndStreamed() async throws {
        try await F.with { f in
            f.primary.setDefault(.status(500, message: "primary down"))
            try await Harness.with(try f.config()) { h in
                for stream in [false, true] {
                    let r = try await Self.send(h, F.app, "chained", model: "chain", stream: stream)
                    #expect(r.status == 200, "\(r.text)")
                    #expect(r.header("X-Sluice-Provider") == "backup")
                    #expect(Self.text(r) == "fake answer to: hi")
                    if stream { #expect(Self.eventNames(r).last == "message_stop") }
                    let rec = try await h.record(r.header("X-Sluice-Call-Id"))
                    #expect(rec.attempts.map(\.status) == [500, 500, 200] && rec.attempts.map(\.provider) == ["primary", "primary", "backup"])
                }

                var ok = FakeUpstream.Reply()
                ok.usage = F.usage
                f.primary.setDefault(ok)
                let before = f.primary.requestCount
                let miss = try await Self.send(h, F.app, "cached", "cache me", stream: false)
                #expect(miss.header("X-Sluice-Cache") == "miss")
                let hit = try await Self.send(h, F.app, "cached", "cache me", stream: false)
                #expect(hit.header("X-Sluice-Cache") == "hit")
                #expect(hit.json["type"] == "message" && Self.text(hit) == "fake answer to: cache me")
                let streamHit = try await Self.send(h, F.app, "cached", "cache me", stream: true)
                #expect(streamHit.header("X-Sluice-Cache") == "hit")
                #expect(Self.eventNames(streamHit).first == "message_start" && Self.eventNames(streamHit).last == "message_stop")
                #expect(Self.text(streamHit) == "fake answer to: cache me")
                #expect(f.primary.requestCount == before + 1)
                #expect(try await h.record(streamHit.header("X-Sluice-Call-Id")).cache == "hit")
            }
        }
    }

    /// Output guards (a held stream is a plain error, an `incremental` one ends with an `error`
    /// event), review (header, or an SSE comment on a stream), schema validation with repair
    /// (whole) or a recorded verdict (stream).
    @Test func outputPoliciesHoldWholeAndStreamed() async throws {
        try await F.with { f in
            try await Harness.with(try f.config()) { h in
                f.primary.setDefault(F.reply(F.secret))
                for stream in [false, true] {
                    let blocked = try await Self.send(h, F.app, "guarded", stream: stream)
                    try await Self.expectAnthropicError(h, blocked, 422, "invalid_request_error")
                    #expect(!blocked.text.contains("0000") && blocked.text.contains("no_secrets"), "\(blocked.text)")
                }
                let cut = try await Self.send(h, F.app, "cut", stream: true)
                #expect(cut.status == 200)
                #expect(Self.eventNames(cut).last == "error" && !Self.eventNames(cut).contains("message_stop"), "\(cut.text)")
                #expect(!Self.text(cut).contains("launch code"))
                #expect(try await h.record(cut.header("X-Sluice-Call-Id")).httpStatus == 422)

                var ok = FakeUpstream.Reply()
                ok.usage = F.usage
                f.primary.setDefault(ok)
                let whole = try await Self.send(h, F.app, "reviewed", stream: false)
                let wholeReview = try #require(whole.header("X-Sluice-Review-Id"))
                let streamed = try await Self.send(h, F.app, "reviewed", stream: true)
                #expect(Self.eventNames(streamed).last == "message_stop")
                let items = try await h.gateway.store.reviews(status: nil, purpose: "reviewed", limit: 10, before: nil)
                #expect(items.contains { $0.id == wholeReview && $0.callID == whole.header("X-Sluice-Call-Id") })
                let streamItem = try #require(items.first { $0.callID == streamed.header("X-Sluice-Call-Id") })
                #expect(streamed.text.contains(": x-sluice-review-id \(streamItem.id)"))

                f.primary.enqueue(F.reply("not JSON at all"), F.reply(#"{"answer":"42"}"#))
                let repaired = try await Self.send(h, F.app, "schema", stream: false)
                #expect(repaired.status == 200, "\(repaired.text)")
                #expect(Self.text(repaired) == #"{"answer":"42"}"#)
                let rec = try await h.record(repaired.header("X-Sluice-Call-Id"))
                #expect(rec.repairs == 1 && rec.schemaValid == true)
                f.primary.enqueue(F.reply("not JSON either"))
                let streamedSchema = try await Self.send(h, F.app, "schema", stream: true)
                #expect(Self.eventNames(streamedSchema).last == "message_stop")
                #expect(try await h.record(streamedSchema.header("X-Sluice-Call-Id")).schemaValid == false)
            }
        }
    }

    /// `Idempotency-Key`: a repeat replays what the client got, whole or streamed, without a second upstream call.
    @Test func idempotencyReplaysWholeAndStreamed() async throws {
        try await F.with { f in
            try await Harness.with(try f.config()) { h in
                for stream in [false, true] {
                    let key = ["Idempotency-Key": "msg-\(stream)"]
                    let first = try await Self.send(h, F.app, "open", stream: stream, key)
                    #expect(first.status == 200 && first.header("Idempotent-Replayed") == nil, "\(first.text)")
                    let again = try await Self.send(h, F.app, "open", stream: stream, key)
                    #expect(again.header("Idempotent-Replayed") == "true")
                    #expect(again.body == first.body)
                    #expect(again.header("X-Sluice-Call-Id") == first.header("X-Sluice-Call-Id"))
                }
                #expect(f.primary.requestCount == 2)
            }
        }
    }

    /// Whole and streamed calls are rows, Prometheus series and OpenTelemetry spans.
    @Test func callsAreRecordedTracedAndCounted() async throws {
        let receiver = try await OTLPReceiver.start()
        defer { Task { await receiver.stop() } }
        var ids: [String] = []
        try await F.with { f in
            try await Harness.with(try f.config(tracing: receiver)) { h in
                for stream in [false, true] {
                    let r = try await Self.send(h, F.app, "open", stream: stream)
                    #expect(r.status == 200, "\(r.text)")
                    let rec = try await h.record(r.header("X-Sluice-Call-Id"))
                    #expect(rec.status == .ok && rec.stream == stream && rec.purpose == "open" && rec.keyName == "app")
                    #expect(rec.usage == F.usage && rec.costUSD != nil)
                    ids.append(rec.callID)
                }
                let m = try await F.metrics(h)
                #expect(m.contains(#"sluice_requests_total{purpose="open",model="fast",provider="primary",status="ok"} 2"#), "\(m)")
                #expect(m.contains(#"sluice_time_to_first_token_seconds_count{purpose="open",model="fast"} 1"#), "\(m)")
            }
        }
        await F.expectSpans(receiver, ids)
    }
}
