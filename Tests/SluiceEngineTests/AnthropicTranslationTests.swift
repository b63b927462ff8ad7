import Foundation
import SluiceCore
@testable import SluiceProviders
import Testing

@Suite struct AnthropicTranslationTests {
    func translate(_ text: String) throws -> JSONObject {
        try AnthropicRequest.translate(try #require(try JSON.parse(text).objectValue), model: "claude-sonnet-4-20250514")
    }

    @Test func requestTranslatesMessagesToolsAndParameters() throws {
        let out = try translate(#"""
            {"model":"x","max_completion_tokens":300,"temperature":0.2,"stop":"END","user":"u-1","parallel_tool_calls":false,
             "tool_choice":"required",
             "tools":[{"type":"function","function":{"name":"lookup","description":"Find","parameters":{"type":"object","properties":{"q":{"type":"string"}}}}}],
             "messages":[
              {"role":"system","content":"Be terse."},{"role":"developer","content":"Use tools."},
              {"role":"user","content":[{"type":"text","text":"What is this?"},
                {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0"}},
                {"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]},
              {"role":"assistant","content":null,"tool_calls":[
                {"id":"call_1","type":"function","function":{"name":"lookup","arguments":"{\"q\":\"a\"}"}},
                {"id":"call_2","type":"function","function":{"name":"lookup","arguments":"{\"q\":\"b\"}"}}]},
              {"role":"tool","tool_call_id":"call_1","content":"A"},
              {"role":"tool","tool_call_id":"call_2","content":"B"}]}
            """#)
        #expect(out["model"] == "claude-sonnet-4-20250514")
        #expect(out["system"] == "Be terse.\n\nUse tools.")
        #expect(out["max_tokens"] == 300)
        #expect(out["stop_sequences"] == ["END"])
        #expect(out["metadata"] == ["user_id": "u-1"])
        #expect(out["tool_choice"] == ["type": "any", "disable_parallel_tool_use": true])
        #expect(out["tools"]?.arrayValue?.first?["input_schema"]?["properties"]?["q"] != nil)
        let messages = try #require(out["messages"]?.arrayValue)
        #expect(messages.map { $0["role"]?.stringValue } == ["user", "assistant", "user"])
        let parts = try #require(messages[0]["content"]?.arrayValue)
        #expect(parts[1]["source"] == ["type": "base64", "media_type": "image/png", "data": "iVBORw0"])
        #expect(parts[2]["source"] == ["type": "url", "url": "https://example.com/a.png"])
        let calls = try #require(messages[1]["content"]?.arrayValue)
        #expect(calls.map { $0["type"]?.stringValue } == ["tool_use", "tool_use"])
        #expect(calls[1]["input"] == ["q": "b"])
        // Both results in one user turn, in order.
        let results = try #require(messages[2]["content"]?.arrayValue)
        #expect(results.map { $0["tool_use_id"]?.stringValue } == ["call_1", "call_2"])
        #expect(results[1]["content"] == "B")
    }

    @Test func jsonSchemaBecomesAForcedTool() throws {
        let out = try translate(#"""
            {"model":"x","messages":[{"role":"user","content":"Rate it"}],
             "response_format":{"type":"json_schema","json_schema":{"name":"r","schema":{"type":"object","properties":{"score":{"type":"integer"}}}}}}
            """#)
        #expect(out["max_tokens"] == .int(AnthropicRequest.defaultMaxTokens))
        #expect(out["tool_choice"] == ["type": "tool", "name": "json_output"])
        #expect(out["tools"]?.arrayValue?.last?["input_schema"]?["properties"]?["score"] == ["type": "integer"])
    }

    @Test(arguments: [
        (#"{"model":"x","n":2,"messages":[{"role":"user","content":"a"}]}"#, "'n'"),
        (#"{"model":"x","logprobs":true,"messages":[{"role":"user","content":"a"}]}"#, "'logprobs'"),
        (#"{"model":"x","temperature":1.5,"messages":[{"role":"user","content":"a"}]}"#, "'temperature'"),
        (#"{"model":"x","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]}"#, "'messages[0].content[0]'"),
        (#"{"model":"x","messages":[{"role":"tool","content":"a"}]}"#, "'messages[0].tool_call_id'"),
    ])
    func untranslatableFieldsAre400NamingThem(body: String, field: String) throws {
        do {
            _ = try translate(body)
            Issue.record("no error for \(body)")
        } catch let e as ProviderError {
            #expect(e.status == 400)
            #expect(e.message.hasPrefix(field), "\(e.message)")
        }
    }

    @Test func responseBecomesAChatCompletionWithToolCallsAndCachedUsage() throws {
        let message = try #require(try JSON.parse(#"""
            {"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-20250514",
             "content":[{"type":"text","text":"Let me look."},{"type":"tool_use","id":"toolu_1","name":"lookup","input":{"q":"a"}}],
             "stop_reason":"tool_use",
             "usage":{"input_tokens":100,"output_tokens":20,"cache_read_input_tokens":1000,"cache_creation_input_tokens":200}}
            """#).objectValue)
        let (completion, usage) = AnthropicResponse.completion(message, created: 1)
        let choice = try #require(completion["choices"]?.arrayValue?.first)
        #expect(choice["finish_reason"] == "tool_calls")
        #expect(choice["message"]?["content"] == "Let me look.")
        #expect(choice["message"]?["tool_calls"]?.arrayValue?.first?["function"]?["arguments"] == #"{"q":"a"}"#)
        #expect(usage == Usage(inputTokens: 1300, outputTokens: 20, cachedTokens: 1000, cacheWriteTokens: 200))
        #expect(completion["usage"]?["prompt_tokens_details"]?["cached_tokens"] == 1000)
        // Priced at each rate: 100 × 3 + 1000 × 0.30 + 200 × 3.75 + 20 × 15, per million.
        let price = try #require(PriceTable().price(target: "claude-sonnet-4-20250514", answered: nil))
        #expect(abs(price.cost(of: usage) - 0.00165) < 1e-12)
    }

    @Test func streamEventsBecomeChunksWithToolArgumentDeltas() throws {
        var t = AnthropicStreamTranslator(created: 1)
        let events = [
            #"{"type":"message_start","message":{"id":"msg_1","model":"claude-x","usage":{"input_tokens":10,"cache_read_input_tokens":5,"output_tokens":1}}}"#,
            #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#,
            #"{"type":"ping"}"#,
            #"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"lookup","input":{}}}"#,
            #"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"q\":"}}"#,
            #"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\"a\"}"}}"#,
            #"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":7}}"#,
            #"{"type":"message_stop"}"#,
        ]
        var chunks: [JSONObject] = []
        var done = false
        for e in events {
            let r = try t.translate(try #require(try JSON.parse(e).objectValue))
            chunks += r.chunks
            done = r.done
        }
        #expect(done)
        let deltas = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"] }
        #expect(deltas.compactMap { $0["content"]?.stringValue }.joined() == "Hi")
        let args = deltas.compactMap { $0["tool_calls"]?.arrayValue?.first?["function"]?["arguments"]?.stringValue }.joined()
        #expect(args == #"{"q":"a"}"#)
        #expect(deltas.compactMap { $0["tool_calls"]?.arrayValue?.first?["id"]?.stringValue } == ["toolu_1"])
        #expect(chunks.compactMap { $0["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue } == ["tool_calls"])
        #expect(chunks.last?["usage"]?["completion_tokens"] == 7)
        #expect(t.usage == Usage(inputTokens: 15, outputTokens: 7, cachedTokens: 5))
        #expect(throws: ProviderError.self) {
            _ = try t.translate(["type": "error", "error": ["type": "overloaded_error", "message": "Overloaded"]])
        }
    }
}
