import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// `POST /v1/responses` (OpenAI's Responses API): every policy of the Engine, whole and
/// streamed, with errors OpenAI-shaped and streams as Responses events. Each test runs
/// twice: with the fixture's `openai_compatible` providers (the request translated to chat
/// completions and back) and with `openai` ones (the request sent natively to
/// `{base_url}/responses`, the upstream's own answer and events passed on).
@Suite struct GuaranteesResponsesTests {
    typealias F = GuaranteeFixture

    /// How the fixture's providers take a Responses request.
    enum Upstream: String, CaseIterable, Sendable, CustomTestStringConvertible {
        /// `openai_compatible`: translated to `/chat/completions`.
        case translated
        /// `openai`: natively to `/responses`.
        case native
        var testDescription: String { rawValue }
    }

    /// The fixture's config, its providers of type `openai` for `.native`.
    static func config(_ f: F, _ upstream: Upstream, tracing: OTLPReceiver? = nil) throws -> String {
        let yaml = try f.config(tracing: tracing)
        guard upstream == .native else { return yaml }
        let native = yaml.replacingOccurrences(of: "{ type: openai_compatible,", with: "{ type: openai, api_key: sk-guar-native-1,")
        #expect(native.components(separatedBy: "type: openai,").count == 3, "both providers are `openai`")
        return native
    }

    /// The path a plain call of this kind reaches the upstream on.
    static func path(_ upstream: Upstream) -> String { upstream == .native ? "/v1/responses" : "/v1/chat/completions" }

    static func body(_ input: String, model: String = "fast", stream: Bool, extra: String = "") -> String {
        #"{"model":"\#(model)","input":"\#(input)","max_output_tokens":100,"stream":\#(stream)\#(extra)}"#
    }

    static func send(
        _ h: Harness, _ key: [String: String], _ purpose: String, _ input: String = "hi", model: String = "fast", stream: Bool,
        _ more: [String: String] = [:], extra: String = ""
    ) async throws -> HTTPResult {
        try await h.request(
            .POST, "/v1/responses", body: body(input, model: model, stream: stream, extra: extra),
            headers: F.headers(key, purpose: purpose, more))
    }

    /// The `data:` payloads of a Responses SSE body.
    static func events(_ r: HTTPResult) -> [JSON] {
        r.text.components(separatedBy: "\n\n").compactMap { block in
            guard let line = block.components(separatedBy: "\n").first(where: { $0.hasPrefix("data: ") }) else { return nil }
            return try? JSON.parse(String(line.dropFirst(6)))
        }
    }

    /// The event types of a Responses stream, in order.
    static func types(_ r: HTTPResult) -> [String] { events(r).compactMap { $0["type"]?.stringValue } }

    /// The text of a whole Responses object (its message items' `output_text`), or of a stream's deltas.
    static func text(_ r: HTTPResult) -> String {
        if r.json["object"] == "response" {
            return (r.json["output"]?.arrayValue ?? []).flatMap { $0["content"]?.arrayValue ?? [] }
                .compactMap { $0["text"]?.stringValue }.joined()
        }
        return events(r).filter { $0["type"] == "response.output_text.delta" }.compactMap { $0["delta"]?.stringValue }.joined()
    }

    /// A stream that ended cleanly: one `response.created` first, `response.completed` last, no `response.failed`.
    static func expectCompleted(_ r: HTTPResult, sourceLocation: SourceLocation = #_sourceLocation) {
        let t = types(r)
        #expect(r.status == 200 && r.header("content-type")?.hasPrefix("text/event-stream") == true, "\(r.text)", sourceLocation: sourceLocation)
        #expect(t.first == "response.created" && t.last == "response.completed", "\(t)", sourceLocation: sourceLocation)
        #expect(t.filter { $0 == "response.created" }.count == 1 && !t.contains("response.failed"), "\(t)", sourceLocation: sourceLocation)
    }

    /// A stream that ended with `response.failed` (never `response.completed`), one well-formed
    /// Responses stream: one `response.created`, sequence numbers counting up.
    static func expectFailed(_ r: HTTPResult, sourceLocation: SourceLocation = #_sourceLocation) {
        let t = types(r)
        #expect(r.status == 200, "\(r.text)", sourceLocation: sourceLocation)
        #expect(t.last == "response.failed" && !t.contains("response.completed"), "\(t)", sourceLocation: sourceLocation)
        #expect(t.filter { $0 == "response.created" }.count == 1, "one response.created: \(t)", sourceLocation: sourceLocation)
        let seq = events(r).compactMap { $0["sequence_number"]?.intValue }
        #expect(seq == Array(seq.indices), "sequence numbers \(seq)", sourceLocation: sourceLocation)
        let failed = events(r).last?["response"]
        #expect(failed?["status"] == "failed" && failed?["error"]?["code"]?.stringValue != nil, "\(failed ?? .null)", sourceLocation: sourceLocation)
    }

    /// A refused call: an OpenAI error body with this status and code (never a stream), and a
    /// call record of surface `responses` with that status.
    static func expectRefused(
        _ h: Harness, _ r: HTTPResult, _ status: Int, _ code: String, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        try await F.expectRefused(h, r, status, sourceLocation: sourceLocation)
        #expect(r.json["error"]?["code"]?.stringValue == code, "\(r.text)", sourceLocation: sourceLocation)
        let rec = try await h.record(r.header("X-Sluice-Call-Id"))
        #expect(rec.surface == "responses", sourceLocation: sourceLocation)
    }

    /// Scope, kill switch, rate limit, budget, input guard and PII (block, and redact before the
    /// provider and restore for the app) hold whole and streamed, attributed by header or by
    /// `metadata`; a refused stream is an OpenAI error body, never an event stream.
    @Test(arguments: Upstream.allCases)
    func admissionHoldsWholeAndStreamed(_ upstream: Upstream) async throws {
        try await F.with { f in
            let clock = F.stillClock()
            try await Harness.with(try Self.config(f, upstream), clock: clock) { h in
                try await F.kill(h, purpose: "killed")
                for stream in [false, true] {
                    let base = f.primary.requestCount
                    try await Self.expectRefused(h, try await Self.send(h, F.narrow, "guarded", stream: stream), 403, "forbidden")
                    let killed = try await Self.send(h, F.app, "killed", stream: stream)
                    try await Self.expectRefused(h, killed, 503, "disabled")
                    #expect(killed.json["error"]?["message"]?.stringValue?.contains("incident 7") == true)
                    let guarded = try await Self.send(h, F.app, "guarded", "please drop table users", stream: stream)
                    try await Self.expectRefused(h, guarded, 400, "guard_blocked")
                    // The purpose from `metadata` instead of the header.
                    let byMetadata = try await h.request(
                        .POST, "/v1/responses",
                        body: Self.body("please drop table users", stream: stream, extra: #","metadata":{"x-sluice-purpose":"guarded"}"#),
                        headers: F.app)
                    try await Self.expectRefused(h, byMetadata, 400, "guard_blocked")
                    let pii = try await Self.send(h, F.app, "strict", "mail jane.doe@example.com", stream: stream)
                    try await Self.expectRefused(h, pii, 400, "pii_detected")
                    #expect(f.primary.requestCount == base)

                    let first = try await Self.send(h, F.limited, "open", stream: stream)
                    #expect(first.status == 200, "\(first.text)")
                    try await Self.expectRefused(h, try await Self.send(h, F.limited, "open", stream: stream), 429, "rate_limited")
                    #expect(try await Self.send(h, F.app, "capped", stream: stream).status == 200)
                    try await Self.expectRefused(h, try await Self.send(h, F.app, "capped", stream: stream), 429, "budget_exceeded")

                    let redacted = try await Self.send(h, F.app, "redacted", "mail jane.doe@example.com please", stream: stream)
                    #expect(redacted.status == 200, "\(redacted.text)")
                    if stream { Self.expectCompleted(redacted) }
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

    /// Retries and fallbacks before the first byte, a stream broken after it (`response.failed`,
    /// recorded `stream_interrupted`), then the cache: a whole call stores, a whole and a
    /// streamed call with the same input are served from it (the stream as Responses events).
    @Test(arguments: Upstream.allCases)
    func routingAndCacheHoldWholeAndStreamed(_ upstream: Upstream) async throws {
        try await F.with { f in
            f.primary.setDefault(.status(500, message: "primary down"))
            try await Harness.with(try Self.config(f, upstream)) { h in
                for stream in [false, true] {
                    let r = try await Self.send(h, F.app, "chained", model: "chain", stream: stream)
                    #expect(r.status == 200, "\(r.text)")
                    #expect(r.header("X-Sluice-Provider") == "backup")
                    #expect(Self.text(r) == "fake answer to: hi", "\(r.text)")
                    if stream { Self.expectCompleted(r) }
                    let rec = try await h.record(r.header("X-Sluice-Call-Id"))
                    #expect(rec.attempts.map(\.status) == [500, 500, 200] && rec.attempts.map(\.provider) == ["primary", "primary", "backup"])
                    #expect(f.backup.received.last?.path == Self.path(upstream))
                }

                // Broken after the first bytes went out: no fallback, a failed event, the record says so.
                var cut = F.reply("one two three four five six seven eight nine ten")
                cut.cutAfterEvents = upstream == .native ? 6 : 3
                cut.eventDelayMs = 10  // each event leaves before the cut
                f.primary.setDefault(cut)
                let before = f.primary.requestCount
                let broken = try await Self.send(h, F.app, "open", stream: true)
                Self.expectFailed(broken)
                #expect(!Self.text(broken).isEmpty)
                let brokenRec = try await h.record(broken.header("X-Sluice-Call-Id"))
                #expect(brokenRec.status == .streamInterrupted && brokenRec.surface == "responses")
                #expect(f.primary.requestCount == before + 1)

                var ok = FakeUpstream.Reply()
                ok.usage = F.usage
                f.primary.setDefault(ok)
                let start = f.primary.requestCount
                let miss = try await Self.send(h, F.app, "cached", "cache me", stream: false)
                #expect(miss.header("X-Sluice-Cache") == "miss")
                let hit = try await Self.send(h, F.app, "cached", "cache me", stream: false)
                #expect(hit.header("X-Sluice-Cache") == "hit")
                #expect(hit.json["object"] == "response" && Self.text(hit) == "fake answer to: cache me", "\(hit.text)")
                let streamHit = try await Self.send(h, F.app, "cached", "cache me", stream: true)
                #expect(streamHit.header("X-Sluice-Cache") == "hit")
                Self.expectCompleted(streamHit)
                #expect(Self.text(streamHit) == "fake answer to: cache me")
                #expect(f.primary.requestCount == start + 1)
                #expect(try await h.record(streamHit.header("X-Sluice-Call-Id")).cache == "hit")
            }
        }
    }

    /// Output guards (whole: `422 output_blocked`; a held stream: the same JSON error; an
    /// `incremental` one: `response.failed`), and review (the header; on a stream, the review
    /// id as an SSE comment).
    @Test(arguments: Upstream.allCases)
    func outputGuardsAndReviewHoldWholeAndStreamed(_ upstream: Upstream) async throws {
        try await F.with { f in
            try await Harness.with(try Self.config(f, upstream)) { h in
                f.primary.setDefault(F.reply(F.secret))
                for stream in [false, true] {
                    let blocked = try await Self.send(h, F.app, "guarded", stream: stream)
                    try await Self.expectRefused(h, blocked, 422, "output_blocked")
                    #expect(blocked.json["error"]?["param"] == "guard:no_secrets")
                    #expect(!blocked.text.contains("0000"), "\(blocked.text)")
                }
                let cut = try await Self.send(h, F.app, "cut", stream: true)
                Self.expectFailed(cut)
                #expect(!Self.text(cut).contains("launch code") && !cut.text.contains("0000"), "\(cut.text)")
                let cutRec = try await h.record(cut.header("X-Sluice-Call-Id"))
                #expect(cutRec.httpStatus == 422 && cutRec.status == .error && cutRec.surface == "responses")

                var ok = FakeUpstream.Reply()
                ok.usage = F.usage
                f.primary.setDefault(ok)
                let whole = try await Self.send(h, F.app, "reviewed", stream: false)
                #expect(whole.status == 200, "\(whole.text)")
                let wholeReview = try #require(whole.header("X-Sluice-Review-Id"))
                let streamed = try await Self.send(h, F.app, "reviewed", stream: true)
                Self.expectCompleted(streamed)
                let items = try await h.gateway.store.reviews(status: nil, purpose: "reviewed", limit: 10, before: nil)
                #expect(items.contains { $0.id == wholeReview && $0.callID == whole.header("X-Sluice-Call-Id") })
                let streamItem = try #require(items.first { $0.callID == streamed.header("X-Sluice-Call-Id") })
                #expect(streamed.text.contains(": x-sluice-review-id \(streamItem.id)"), "the stream names its review item: \(streamed.text)")
            }
        }
    }

    /// Schema validation: the purpose's `output_schema` and the request's `text.format`
    /// json_schema are enforced on whole answers (repaired with the validator's errors, or a
    /// `422 schema_validation_failed`); a stream is checked when it ends and the verdict recorded.
    @Test(arguments: Upstream.allCases)
    func schemasAreValidatedAndRepaired(_ upstream: Upstream) async throws {
        try await F.with { f in
            try await Harness.with(try Self.config(f, upstream)) { h in
                f.primary.enqueue(F.reply("not JSON at all"), F.reply(#"{"answer":"42"}"#))
                let repaired = try await Self.send(h, F.app, "schema", stream: false)
                #expect(repaired.status == 200, "\(repaired.text)")
                #expect(Self.text(repaired) == #"{"answer":"42"}"#, "\(repaired.text)")
                let rec = try await h.record(repaired.header("X-Sluice-Call-Id"))
                #expect(rec.repairs == 1 && rec.schemaValid == true)

                f.primary.enqueue(F.reply("never JSON"), F.reply("still not JSON"))
                let never = try await Self.send(h, F.app, "schema", stream: false)
                try await Self.expectRefused(h, never, 422, "schema_validation_failed")
                #expect(never.json["error"]?["raw"] == "still not JSON", "\(never.text)")

                f.primary.enqueue(F.reply("not JSON either"))
                let streamed = try await Self.send(h, F.app, "schema", stream: true)
                Self.expectCompleted(streamed)
                #expect(Self.text(streamed) == "not JSON either")
                let streamedRec = try await h.record(streamed.header("X-Sluice-Call-Id"))
                #expect(streamedRec.schemaValid == false && streamedRec.repairs == 0 && streamedRec.stream)

                // The request's own schema, as `text.format`.
                let format = #","text":{"format":{"type":"json_schema","name":"a","schema":{"type":"object","required":["answer"]}}}"#
                let count = f.primary.requestCount
                f.primary.enqueue(F.reply("The answer is 42."), F.reply(#"{"answer":"42"}"#))
                let raw = try await Self.send(h, F.app, "open", stream: false, extra: format)
                #expect(raw.status == 200, "\(raw.text)")
                #expect(Self.text(raw) == #"{"answer":"42"}"#, "\(raw.text)")
                let rawRec = try await h.record(raw.header("X-Sluice-Call-Id"))
                #expect(rawRec.repairs == 1 && rawRec.schemaValid == true)
                #expect(f.primary.requestCount == count + 2)
                f.primary.enqueue(F.reply(#"{"nope":1}"#))
                let rawStream = try await Self.send(h, F.app, "open", stream: true, extra: format)
                Self.expectCompleted(rawStream)
                #expect(try await h.record(rawStream.header("X-Sluice-Call-Id")).schemaValid == false)
            }
        }
    }

    /// Sampled calls, whole and streamed, are answered again by the shadow model, whole.
    @Test(arguments: Upstream.allCases)
    func shadowsFireWholeAndStreamed(_ upstream: Upstream) async throws {
        try await F.with { f in
            try await Harness.with(try Self.config(f, upstream)) { h in
                var live: [String] = []
                for stream in [false, true] {
                    let r = try await Self.send(h, F.app, "shadowed", "shadow me", stream: stream)
                    #expect(r.status == 200, "\(r.text)")
                    if stream { Self.expectCompleted(r) }
                    live.append(try #require(r.header("X-Sluice-Call-Id")))
                }
                await h.gateway.shadows.idle()
                await h.gateway.callLog.flush()
                let rows = try await h.gateway.store.list(CallFilter(purpose: "shadowed:shadow", limit: 10))
                #expect(Set(rows.compactMap(\.shadowOf)) == Set(live), "\(rows.map(\.shadowOf))")
                #expect(rows.allSatisfy { !$0.stream && $0.model == "smart" })
                #expect(f.backup.received.contains { $0.json?["model"] == "shadow-model-1" })
                #expect(f.backup.received.allSatisfy { $0.json?["stream"] == nil || $0.json?["stream"] == false })
            }
        }
    }

    /// `Idempotency-Key`: a repeat replays what the client got, whole or streamed, without a
    /// second upstream call; a stream that ended with `response.failed` is not stored.
    @Test(arguments: Upstream.allCases)
    func idempotencyReplaysWholeAndStreamed(_ upstream: Upstream) async throws {
        try await F.with { f in
            try await Harness.with(try Self.config(f, upstream)) { h in
                for stream in [false, true] {
                    let key = ["Idempotency-Key": "resp-\(stream)"]
                    let first = try await Self.send(h, F.app, "open", stream: stream, key)
                    #expect(first.status == 200 && first.header("Idempotent-Replayed") == nil, "\(first.text)")
                    let again = try await Self.send(h, F.app, "open", stream: stream, key)
                    #expect(again.header("Idempotent-Replayed") == "true")
                    #expect(again.body == first.body)
                    #expect(again.header("X-Sluice-Call-Id") == first.header("X-Sluice-Call-Id"))
                }
                #expect(f.primary.requestCount == 2)

                f.primary.setDefault(F.reply(F.secret))
                let key = ["Idempotency-Key": "resp-cut"]
                Self.expectFailed(try await Self.send(h, F.app, "cut", stream: true, key))
                Self.expectFailed(try await Self.send(h, F.app, "cut", stream: true, key))
                #expect(f.primary.requestCount == 4, "a failed stream is not replayed")
            }
        }
    }

    /// Whole and streamed calls, and a refused one, are rows of surface `responses`; the
    /// answered ones are Prometheus series and OpenTelemetry spans (the call and its attempt).
    @Test(arguments: Upstream.allCases)
    func callsAreRecordedTracedAndCounted(_ upstream: Upstream) async throws {
        let receiver = try await OTLPReceiver.start()
        defer { Task { await receiver.stop() } }
        var ids: [String] = []
        try await F.with { f in
            try await Harness.with(try Self.config(f, upstream, tracing: receiver)) { h in
                for stream in [false, true] {
                    let r = try await Self.send(h, F.app, "open", stream: stream)
                    #expect(r.status == 200, "\(r.text)")
                    if stream { Self.expectCompleted(r) } else { #expect(r.json["object"] == "response") }
                    let rec = try await h.record(r.header("X-Sluice-Call-Id"))
                    #expect(rec.status == .ok && rec.stream == stream && rec.purpose == "open" && rec.keyName == "app")
                    #expect(rec.surface == "responses" && rec.usage == F.usage && rec.costUSD != nil)
                    let admin = try await h.request(.GET, "/admin/calls/\(rec.callID)", headers: F.admin)
                    #expect(admin.json["surface"] == "responses", "\(admin.text)")
                    ids.append(rec.callID)
                }
                #expect(f.primary.received.map(\.path) == [Self.path(upstream), Self.path(upstream)])

                // A request that is not a Responses body is a 400 naming the field, and a row too.
                let bad = try await h.request(.POST, "/v1/responses", body: #"{"model":"fast"}"#, headers: F.headers(F.app, purpose: "open"))
                try await Self.expectRefused(h, bad, 400, "invalid_request")
                #expect(bad.json["error"]?["param"] == "input", "\(bad.text)")
                #expect(f.primary.requestCount == 2)

                let m = try await F.metrics(h)
                #expect(m.contains(#"sluice_requests_total{purpose="open",model="fast",provider="primary",status="ok"} 2"#), "\(m)")
                #expect(m.contains(#"sluice_time_to_first_token_seconds_count{purpose="open",model="fast"} 1"#), "\(m)")
                #expect(m.contains(#"sluice_tokens_total{purpose="open",model="fast",type="output"} 200"#), "\(m)")
            }
        }
        await F.expectSpans(receiver, ids)
    }
}
