import Foundation
import SluiceCore
import SluiceTesting
import Testing

@Suite struct AnthropicProviderTests {
    func config(_ upstream: FakeUpstream) -> String {
        """
        providers:
          claude: { type: anthropic, base_url: "\(upstream.baseURL)", api_key: "sk-ant-secret-123" }
        models:
          smart: { targets: [ { provider: claude, model: claude-sonnet-4-20250514 } ] }
        retry: { max_attempts: 2, base_ms: 1, max_ms: 5 }
        """
    }

    @Test func openAIChatReachesAnthropicAndComesBackInOpenAIShape() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("Bonjour", usage: Usage(inputTokens: 1300, outputTokens: 20, cachedTokens: 1000, cacheWriteTokens: 200)))
        try await Harness.with(config(upstream)) { h in
            let r = try await h.chat(
                #"{"model":"smart","messages":[{"role":"system","content":"Be terse."},{"role":"user","content":"hello"}]}"#)
            #expect(r.status == 200, "\(r.text)")
            #expect(r.json["object"] == "chat.completion")
            #expect(r.json["choices"]?.arrayValue?.first?["message"]?["content"] == "Bonjour")
            #expect(r.json["choices"]?.arrayValue?.first?["finish_reason"] == "stop")
            #expect(r.json["usage"]?["prompt_tokens"] == 1300)
            // 100 × 3 + 1000 × 0.30 + 200 × 3.75 + 20 × 15, per million: cache reads and writes at their own rates.
            #expect(r.header("X-Sluice-Cost-Usd") == "0.00165")
            let sent = try #require(upstream.received.first)
            #expect(sent.path == "/v1/messages")
            #expect(sent.headers["x-api-key"] == "sk-ant-secret-123")
            #expect(sent.headers["anthropic-version"] == "2023-06-01")
            #expect(sent.json?["system"] == "Be terse.")
            #expect(sent.json?["max_tokens"] == 4096)
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.usage == Usage(inputTokens: 1300, outputTokens: 20, cachedTokens: 1000, cacheWriteTokens: 200))
            #expect(rec.answeredModel == "claude-sonnet-4-20250514")
        }
    }

    @Test func streamsAndToolCallsTranslateBothWays() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        var reply = FakeUpstream.Reply.text("Checking.", usage: Usage(inputTokens: 40, outputTokens: 9))
        reply.toolUses = [FakeUpstream.ToolUse(id: "toolu_1", name: "lookup", input: ["q": "weather in Paris"])]
        upstream.setDefault(reply)
        try await Harness.with(config(upstream)) { h in
            let body = #"""
                {"model":"smart","stream":true,"stream_options":{"include_usage":true},
                 "tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object"}}}],
                 "messages":[{"role":"user","content":"weather?"}]}
                """#
            let s = try await h.chat(body)
            #expect(s.status == 200)
            let events = Harness.events(s.body)
            #expect(events.last == "[DONE]")
            let chunks = events.dropLast().compactMap { try? JSON.parse($0) }
            let deltas = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"] }
            #expect(deltas.compactMap { $0["content"]?.stringValue }.joined() == "Checking.")
            let args = deltas.compactMap { $0["tool_calls"]?.arrayValue?.first?["function"]?["arguments"]?.stringValue }.joined()
            #expect(try JSON.parse(args) == ["q": "weather in Paris"])
            #expect(chunks.compactMap { $0["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue } == ["tool_calls"])
            #expect(chunks.last?["usage"]?["completion_tokens"] == 9)
            #expect(upstream.received.last?.json?["tools"]?.arrayValue?.first?["name"] == "lookup")

            let whole = try await h.chat(body.replacingOccurrences(of: #""stream":true,"#, with: ""))
            let call = whole.json["choices"]?.arrayValue?.first?["message"]?["tool_calls"]?.arrayValue?.first
            #expect(call?["id"] == "toolu_1")
            #expect(try JSON.parse(call?["function"]?["arguments"]?.stringValue ?? "") == ["q": "weather in Paris"])
        }
    }

    @Test func anthropicErrorsRetryAndUntranslatableFieldsAre400() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.enqueue(.raw(#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#, status: 529))
        try await Harness.with(config(upstream)) { h in
            let r = try await h.chat(#"{"model":"smart","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(r.status == 200)
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.attempts.map(\.status) == [529, 200])
            #expect(rec.attempts.first?.error == "Overloaded")

            let bad = try await h.chat(#"{"model":"smart","n":3,"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(bad.status == 400)
            #expect(bad.json["error"]?["message"]?.stringValue?.contains("'n' cannot be sent to an Anthropic model") == true)
            #expect(upstream.requestCount == 2)
        }
    }
}
