import AsyncHTTPClient
import Foundation
import NIOCore
import SluiceCore
import SluiceTesting
import Testing

/// `POST /v1/messages` to Anthropic targets: the "same family, native" rule. The
/// request goes upstream as the client sent it and the answer comes back as the
/// upstream gave it; translation happens only across families.
@Suite struct MessagesNativeTests {
    static func config(_ upstream: FakeUpstream, extra: String = "") -> String {
        """
        providers:
          up: { type: openai_compatible, base_url: "\(upstream.baseURL)" }
          claude: { type: anthropic, base_url: "\(upstream.baseURL)", api_key: "sk-ant-native-1" }
        models:
          claude: { targets: [ { provider: claude, model: claude-sonnet-4-20250514 } ] }
          gpt: { targets: [ { provider: up, model: gpt-4o-mini } ] }
          mixed:
            targets:
              - { provider: up, model: gpt-4o-mini, priority: 1 }
              - { provider: claude, model: claude-sonnet-4-20250514, priority: 2 }
        \(extra)
        """
    }

    /// Anthropic-only features in every place they can be: `thinking`, `top_k`, a
    /// `document` block with citations, `cache_control` with a `ttl` on a system block,
    /// an earlier turn's signed `thinking` block, and Sluice's own metadata key.
    static func body(model: String = "claude", stream: Bool = false) -> String {
        #"""
        {"model":"MODEL","max_tokens":2048,STREAM
         "thinking":{"type":"enabled","budget_tokens":1024},
         "top_k":5,
         "system":[{"type":"text","text":"You answer from the documents.","cache_control":{"type":"ephemeral","ttl":"1h"}}],
         "messages":[
           {"role":"user","content":"Hello"},
           {"role":"assistant","content":[{"type":"thinking","thinking":"Greet back.","signature":"c2lnLTE="},{"type":"text","text":"Hi!"}]},
           {"role":"user","content":[
             {"type":"document","source":{"type":"text","media_type":"text/plain","data":"The sky is blue."},"title":"Facts","citations":{"enabled":true}},
             {"type":"text","text":"What colour is the sky?","cache_control":{"type":"ephemeral"}}]}],
         "metadata":{"user_id":"u-42","x-sluice-purpose":"default"}}
        """#
        .replacingOccurrences(of: "MODEL", with: model)
        .replacingOccurrences(of: "STREAM", with: stream ? #""stream":true,"# : "")
    }

    static let beta = "interleaved-thinking-2025-05-14,extended-cache-ttl-2025-04-11"
    static let usage = Usage(inputTokens: 1300, outputTokens: 20, cachedTokens: 1000, cacheWriteTokens: 200)

    /// What Anthropic must receive: the client's body with only `model` replaced (and Sluice's metadata key gone).
    static func expectedUpstreamBody(stream: Bool) throws -> JSON {
        var sent = try #require(try JSON.parse(body(stream: stream)).objectValue)
        sent["model"] = "claude-sonnet-4-20250514"
        sent["metadata"] = ["user_id": "u-42"]
        return .object(sent)
    }

    /// What the upstream answers to `body` when asked directly, without Sluice.
    static func direct(_ h: Harness, _ upstream: FakeUpstream, body: [UInt8]) async throws -> [UInt8] {
        var req = HTTPClientRequest(url: upstream.baseURL + "/messages")
        req.method = .POST
        req.headers.add(name: "content-type", value: "application/json")
        req.body = .bytes(ByteBuffer(bytes: body))
        let res = try await h.client.execute(req, timeout: .seconds(30))
        return Array(try await res.body.collect(upTo: 1 << 20).readableBytesView)
    }

    @Test func wholeRequestGoesUpstreamUnchangedAndTheAnswerComesBackNatively() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("The sky is blue.", usage: Self.usage))
        try await Harness.with(Self.config(upstream)) { h in
            let r = try await h.request(.POST, "/v1/messages", body: Self.body(), headers: ["anthropic-beta": Self.beta])
            #expect(r.status == 200, "\(r.text)")
            let sent = try #require(upstream.received.last)
            #expect(sent.path == "/v1/messages")
            #expect(sent.json == (try Self.expectedUpstreamBody(stream: false)))
            #expect(sent.headers["anthropic-beta"] == Self.beta)
            #expect(sent.headers["anthropic-version"] == "2023-06-01")
            #expect(sent.headers["x-api-key"] == "sk-ant-native-1")

            // The upstream's message as it gave it: the signed thinking block first, its own id once.
            #expect(r.json["id"] == "msg_fake")
            let content = try #require(r.json["content"]?.arrayValue)
            #expect(content.map { $0["type"]?.stringValue } == ["thinking", "text"])
            #expect(content[0]["signature"]?.stringValue == FakeAnthropicAnswer.signature)
            #expect(content[0]["thinking"]?.stringValue?.contains("What colour is the sky?") == true)
            #expect(content[1]["text"] == "The sky is blue.")
            #expect(r.json["usage"]?["cache_read_input_tokens"] == 1000)
            #expect(r.json["usage"]?["cache_creation_input_tokens"] == 200)
            #expect(r.json["usage"]?["input_tokens"] == 100)
            #expect(r.header("X-Sluice-Provider") == "claude")
            // 100 × 3 + 1000 × 0.30 + 200 × 3.75 + 20 × 15, per million.
            #expect(r.header("X-Sluice-Cost-Usd") == "0.00165")

            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.status == .ok)
            #expect(rec.provider == "claude")
            #expect(rec.answeredModel == "claude-sonnet-4-20250514")
            #expect(rec.usage == Self.usage)
            #expect(rec.costUSD.map { abs($0 - 0.00165) < 1e-9 } == true)
            #expect(rec.attempts.map(\.status) == [200])
            // Byte for byte what the upstream answers.
            #expect(try await Self.direct(h, upstream, body: sent.body) == r.body)
        }
    }

    @Test func streamPassesTheUpstreamEventsThrough() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("The sky is blue.", usage: Self.usage))
        try await Harness.with(Self.config(upstream)) { h in
            let s = try await h.request(.POST, "/v1/messages", body: Self.body(stream: true), headers: ["anthropic-beta": Self.beta])
            #expect(s.status == 200, "\(s.text)")
            #expect(s.header("content-type") == "text/event-stream")
            let sent = try #require(upstream.received.last)
            #expect(sent.json == (try Self.expectedUpstreamBody(stream: true)))
            #expect(sent.headers["anthropic-beta"] == Self.beta)

            let names = s.text.components(separatedBy: "\n").filter { $0.hasPrefix("event: ") }.map { String($0.dropFirst(7)) }
            #expect(names.first == "message_start")
            #expect(names.last == "message_stop")
            #expect(names.contains("ping"))  // passed as the upstream sent it
            let datas = s.text.components(separatedBy: "\n").filter { $0.hasPrefix("data: ") }.compactMap { try? JSON.parse(String($0.dropFirst(6))) }
            let deltas = datas.compactMap { $0["delta"] }
            let thinking = deltas.filter { $0["type"] == "thinking_delta" }.compactMap { $0["thinking"]?.stringValue }.joined()
            #expect(thinking.contains("What colour is the sky?"))
            #expect(deltas.filter { $0["type"] == "signature_delta" }.map { $0["signature"]?.stringValue } == [FakeAnthropicAnswer.signature])
            #expect(deltas.compactMap { $0["type"] == "text_delta" ? $0["text"]?.stringValue : nil }.joined() == "The sky is blue.")
            #expect(datas.first?["message"]?["id"] == "msg_fake")
            #expect(datas.first?["message"]?["usage"]?["cache_creation_input_tokens"] == 200)
            #expect(datas.first { $0["type"] == "content_block_start" }?["content_block"]?["type"] == "thinking")

            let rec = try await h.record(s.header("X-Sluice-Call-Id"))
            #expect(rec.status == .ok)
            #expect(rec.provider == "claude")
            #expect(rec.usage == Self.usage)
            #expect(rec.costUSD.map { abs($0 - 0.00165) < 1e-9 } == true)
            #expect(rec.output == "The sky is blue.")
            // Event for event, byte for byte, what the upstream streams.
            #expect(try await Self.direct(h, upstream, body: sent.body) == s.body)
        }
    }

    @Test func nativeOnlyFeaturesNeedAnAnthropicTarget() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("The sky is blue.", usage: Self.usage))
        try await Harness.with(Self.config(upstream)) { h in
            // The model's only target takes the OpenAI chat shape: a 400 naming the feature, nothing sent.
            let refused = try await h.request(.POST, "/v1/messages", body: Self.body(model: "gpt"))
            #expect(refused.status == 400, "\(refused.text)")
            #expect(refused.json["type"] == "error")
            #expect(refused.json["error"]?["type"] == "invalid_request_error")
            let message = refused.json["error"]?["message"]?.stringValue ?? ""
            #expect(message.contains("'thinking' cannot be translated for model 'gpt'"), "\(message)")
            #expect(message.contains("'top_k'") && message.contains("'document'"), "\(message)")
            #expect(upstream.requestCount == 0)
            let failed = try await h.record(refused.header("X-Sluice-Call-Id"))
            #expect(failed.httpStatus == 400)
            #expect(failed.attempts.isEmpty)

            // OpenAI-compatible first, Anthropic second: the first is skipped (no request), the second serves it.
            let r = try await h.request(.POST, "/v1/messages", body: Self.body(model: "mixed"))
            #expect(r.status == 200, "\(r.text)")
            #expect(r.header("X-Sluice-Provider") == "claude")
            #expect(r.json["content"]?.arrayValue?.first?["type"] == "thinking")
            #expect(upstream.received.map(\.path) == ["/v1/messages"])
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.provider == "claude")
            #expect(rec.attempts.map(\.provider) == ["up", "claude"])
            #expect(rec.attempts.map(\.status) == [nil, 200])
            let skipped = rec.attempts.first?.error ?? ""
            #expect(skipped.hasPrefix("skipped: 'thinking' cannot be sent to an OpenAI-family target"), "\(skipped)")
            #expect(rec.usage == Self.usage)

            // The same stream: skipped, then served natively.
            let s = try await h.request(.POST, "/v1/messages", body: Self.body(model: "mixed", stream: true))
            #expect(s.status == 200)
            #expect(s.text.contains(#""type":"signature_delta""#))
            let srec = try await h.record(s.header("X-Sluice-Call-Id"))
            #expect(srec.attempts.map(\.status) == [nil, 200])
        }
    }

    /// A request with nothing Anthropic-only still goes natively to Anthropic targets
    /// (its `cache_control`s intact) and translated to the others.
    @Test func plainRequestsGoNativelyToAnthropicAndTranslatedElsewhere() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("Blue.", usage: Usage(inputTokens: 30, outputTokens: 2)))
        try await Harness.with(Self.config(upstream)) { h in
            let body = #"""
                {"model":"MODEL","max_tokens":50,"service_tier":"auto",
                 "system":[{"type":"text","text":"Be terse.","cache_control":{"type":"ephemeral","ttl":"1h"}}],
                 "messages":[{"role":"user","content":"Sky colour?"}]}
                """#
            let native = try await h.request(.POST, "/v1/messages", body: body.replacingOccurrences(of: "MODEL", with: "claude"))
            #expect(native.status == 200, "\(native.text)")
            var expected = try #require(try JSON.parse(body.replacingOccurrences(of: "MODEL", with: "claude")).objectValue)
            expected["model"] = "claude-sonnet-4-20250514"
            #expect(upstream.received.last?.json == .object(expected))
            #expect(native.json["id"] == "msg_fake")

            let translated = try await h.request(.POST, "/v1/messages", body: body.replacingOccurrences(of: "MODEL", with: "gpt"))
            #expect(translated.status == 200, "\(translated.text)")
            let sent = try #require(upstream.received.last)
            #expect(sent.path == "/v1/chat/completions")
            #expect(sent.json?["messages"]?.arrayValue?.first == ["role": "system", "content": "Be terse."])
            #expect(sent.json?["service_tier"] == nil)
            #expect(translated.json["content"]?.arrayValue?.first?["text"] == "Blue.")
            #expect(translated.json["id"]?.stringValue?.hasPrefix("msg_") == true)
            #expect(translated.json["id"]?.stringValue?.hasPrefix("msg_msg_") == false)
        }
    }

    /// A purpose that redacts personal data rewrites the request, which Sluice does on the
    /// translated form only: such a call to Anthropic is translated (its id `msg_…` once),
    /// and one with Anthropic-only features is a 400 rather than unredacted.
    @Test func redactingPurposesTranslate() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("Noted.", usage: Usage(inputTokens: 30, outputTokens: 2)))
        let purposes = """
            purposes:
              private: { pii: redact }
            """
        try await Harness.with(Self.config(upstream, extra: purposes)) { h in
            let headers = ["X-Sluice-Purpose": "private"]
            let plain = #"{"model":"claude","max_tokens":50,"messages":[{"role":"user","content":"Mail jane.doe@example.com please"}]}"#
            let r = try await h.request(.POST, "/v1/messages", body: plain, headers: headers)
            #expect(r.status == 200, "\(r.text)")
            #expect(r.json["id"] == "msg_fake")
            #expect(r.json["content"]?.arrayValue?.first?["text"] == "Noted.")
            let sent = try #require(upstream.received.last?.json)
            #expect(!sent.jsonString.contains("jane.doe@example.com"))

            let thinking = plain.replacingOccurrences(of: #""max_tokens":50,"#, with: #""max_tokens":2048,"thinking":{"type":"enabled","budget_tokens":1024},"#)
            let refused = try await h.request(.POST, "/v1/messages", body: thinking, headers: headers)
            #expect(refused.status == 400)
            #expect(refused.json["error"]?["message"]?.stringValue?.contains("'thinking' cannot be translated") == true)
            #expect(refused.json["error"]?["message"]?.stringValue?.contains("pii: redact") == true)
            #expect(upstream.requestCount == 1)
        }
    }
}
