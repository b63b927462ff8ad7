import Foundation
import SluiceCore
import SluiceTesting
import Testing

/// `POST /v1/messages`: Anthropic clients reach any provider.
@Suite struct MessagesRouteTests {
    @Test func anthropicRequestReachesAnOpenAIUpstreamWithToolsBothWays() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        var reply = FakeUpstream.Reply.text("Looking it up.", usage: Usage(inputTokens: 50, outputTokens: 12, cachedTokens: 20))
        reply.toolUses = [FakeUpstream.ToolUse(id: "call_9", name: "lookup", input: ["q": "Paris"])]
        upstream.setDefault(reply)
        try await Harness.with(upstreamConfig(upstream)) { h in
            let body = #"""
                {"model":"fast","max_tokens":200,"system":"Be terse.",
                 "tools":[{"name":"lookup","description":"Find","input_schema":{"type":"object","properties":{"q":{"type":"string"}}}}],
                 "tool_choice":{"type":"any"},
                 "messages":[{"role":"user","content":"weather?"},
                   {"role":"assistant","content":[{"type":"tool_use","id":"call_1","name":"lookup","input":{"q":"x"}}]},
                   {"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":"sunny"},{"type":"text","text":"and now?"}]}]}
                """#
            let r = try await h.request(.POST, "/v1/messages", body: body, headers: ["x-api-key": "unused-in-open-mode"])
            #expect(r.status == 200, "\(r.text)")
            #expect(r.json["type"] == "message")
            #expect(r.json["stop_reason"] == "tool_use")
            let content = try #require(r.json["content"]?.arrayValue)
            #expect(content.first?["text"] == "Looking it up.")
            #expect(content.last?["input"] == ["q": "Paris"])
            #expect(r.json["usage"]?["input_tokens"] == 30)
            #expect(r.json["usage"]?["cache_read_input_tokens"] == 20)
            let sent = try #require(upstream.received.last?.json)
            let messages = try #require(sent["messages"]?.arrayValue)
            #expect(messages.map { $0["role"]?.stringValue } == ["system", "user", "assistant", "tool", "user"])
            #expect(messages[2]["tool_calls"]?.arrayValue?.first?["function"]?["arguments"] == #"{"q":"x"}"#)
            #expect(messages[3]["tool_call_id"] == "call_1")
            #expect(sent["tool_choice"] == "required")
            #expect(sent["tools"]?.arrayValue?.first?["function"]?["parameters"]?["properties"]?["q"] != nil)

            let s = try await h.request(.POST, "/v1/messages", body: body.replacingOccurrences(of: #""max_tokens":200,"#, with: #""max_tokens":200,"stream":true,"#))
            #expect(s.status == 200)
            let names = s.text.components(separatedBy: "\n").filter { $0.hasPrefix("event: ") }.map { String($0.dropFirst(7)) }
            #expect(names.first == "message_start")
            #expect(names.suffix(2) == ["message_delta", "message_stop"])
            #expect(names.contains("content_block_start") && names.contains("content_block_stop"))
            let datas = s.text.components(separatedBy: "\n").filter { $0.hasPrefix("data: ") }.compactMap { try? JSON.parse(String($0.dropFirst(6))) }
            let text = datas.compactMap { $0["delta"]?["text"]?.stringValue }.joined()
            let json = datas.compactMap { $0["delta"]?["partial_json"]?.stringValue }.joined()
            #expect(text == "Looking it up.")
            #expect(try JSON.parse(json) == ["q": "Paris"])
            #expect(datas.last { $0["type"] == "message_delta" }?["delta"]?["stop_reason"] == "tool_use")
        }
    }

    @Test func errorsComeInAnthropicShape() async throws {
        try await Harness.with("auth:\n  keys:\n    - { name: app, key: app-secret-1234 }\n") { h in
            let noKey = try await h.request(.POST, "/v1/messages", body: #"{"model":"sim-small","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#)
            #expect(noKey.status == 401)
            #expect(noKey.json["type"] == "error")
            #expect(noKey.json["error"]?["type"] == "authentication_error")
            let auth = ["x-api-key": "app-secret-1234"]
            let noMax = try await h.request(.POST, "/v1/messages", body: #"{"model":"sim-small","messages":[{"role":"user","content":"x"}]}"#, headers: auth)
            #expect(noMax.status == 400)
            #expect(noMax.json["error"]?["type"] == "invalid_request_error")
            #expect(noMax.json["error"]?["message"]?.stringValue?.contains("max_tokens") == true)
            let topK = try await h.request(.POST, "/v1/messages", body: #"{"model":"sim-small","max_tokens":5,"top_k":3,"messages":[{"role":"user","content":"x"}]}"#, headers: auth)
            #expect(topK.json["error"]?["message"]?.stringValue?.contains("'top_k' cannot be translated") == true)
            let bearer = try await h.request(.POST, "/v1/messages", body: #"{"model":"sim-small","max_tokens":50,"messages":[{"role":"user","content":"echo: hi"}]}"#, headers: ["Authorization": "Bearer app-secret-1234"])
            #expect(bearer.status == 200)
            #expect(bearer.json["content"]?.arrayValue?.first?["text"] == "hi")
        }
    }

    /// `cache_control` reaches Anthropic upstreams and is stripped for OpenAI-family ones, which reject it.
    @Test func cacheControlPassesToAnthropicAndIsStrippedForOpenAI() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let cfg = """
            providers:
              up: { type: openai_compatible, base_url: "\(upstream.baseURL)" }
              claude: { type: anthropic, base_url: "\(upstream.baseURL)", api_key: "sk-ant-1234" }
            models:
              gpt: { targets: [ { provider: up, model: gpt-4o-mini } ] }
              claude: { targets: [ { provider: claude, model: claude-sonnet-4-20250514 } ] }
            """
        try await Harness.with(cfg) { h in
            for model in ["gpt", "claude"] {
                let body = #"""
                    {"model":"MODEL","max_tokens":20,"system":"s",
                     "messages":[{"role":"user","content":[{"type":"text","text":"long context","cache_control":{"type":"ephemeral"}},{"type":"text","text":"question"}]}]}
                    """#.replacingOccurrences(of: "MODEL", with: model)
                #expect(try await h.request(.POST, "/v1/messages", body: body).status == 200)
                let sent = try #require(upstream.received.last)
                if model == "claude" {
                    #expect(sent.path == "/v1/messages")
                    #expect(sent.json?["messages"]?.arrayValue?.first?["content"]?.arrayValue?.first?["cache_control"] == ["type": "ephemeral"])
                } else {
                    #expect(sent.path == "/v1/chat/completions")
                    #expect(!String(decoding: sent.body, as: UTF8.self).contains("cache_control"))
                    #expect(sent.json?["messages"]?.arrayValue?.last?["content"]?.arrayValue?.count == 2)
                }
            }
        }
    }
}

