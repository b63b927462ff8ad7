import Foundation
import SluiceCore
@testable import SluiceProviders
import Testing

/// The Responses API codec: create bodies read and checked, their chat-completions
/// shape, answers both ways, and streams both ways (chat chunks → Responses events,
/// an upstream's Responses events → chat chunks).
@Suite struct ResponsesCodecTests {
    func request(_ text: String) throws -> ResponsesRequest { try ResponsesRequest(body: try JSON.parse(text)) }

    func rejection(_ text: String) -> SluiceError? {
        do {
            _ = try request(text)
            return nil
        } catch { return error as? SluiceError }
    }

    // MARK: Requests

    @Test func aStringInputIsOneUserMessage() throws {
        let r = try request(#"{"model":"gpt-x","input":"Hi","instructions":"Be brief.","metadata":{"x-sluice-purpose":"support","team":"a"}}"#)
        #expect(r.model == "gpt-x" && r.store && !r.stream && !r.background)
        #expect(r.input == [["type": "message", "role": "user", "content": "Hi"]])
        #expect(r.nativeOnly.isEmpty)
        #expect(r.body["metadata"] == ["team": "a"])  // the native body loses Sluice's keys
        #expect(r.native.format == .openAIResponses)
        let chat = ResponsesCodec.chatBody(r).body
        #expect(chat["model"] == "gpt-x")
        #expect(chat["messages"] == [["role": "system", "content": "Be brief."], ["role": "user", "content": "Hi"]])
        #expect(chat["metadata"] == ["x-sluice-purpose": "support", "team": "a"])  // the Engine reads and strips them
        #expect(chat["stream"] == nil && chat["tools"] == nil)
        #expect(try ChatRequest(body: .object(chat)).sluiceMetadata == ["x-sluice-purpose": "support"])
        let only = try request(#"{"model":"m","input":"x","metadata":{"x-sluice-run-id":"r1"}}"#)
        #expect(only.body["metadata"] == nil && only.clientMetadata.count == 0)
    }

    @Test func errorsNameTheField() {
        let cases: [(String, String)] = [
            (#"{"input":"x"}"#, "model"),
            (#"{"model":"m"}"#, "input"),
            (#"{"model":"m","input":7}"#, "input"),
            (#"{"model":"m","input":[]}"#, "input"),
            (#"{"model":"m","input":[{"role":"user","content":"a"},{"type":"function_call_output","call_id":"c","output":"o"},{"type":"telepathy"}]}"#, "input[2].type"),
            (#"{"model":"m","input":[{"content":"a"}]}"#, "input[0].type"),
            (#"{"model":"m","input":[{"role":"robot","content":"a"}]}"#, "input[0].role"),
            (#"{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"a"},{"type":"input_image","file_id":"file-1"}]}]}"#, "input[0].content[1].file_id"),
            (#"{"model":"m","input":[{"role":"user","content":[{"type":"input_video"}]}]}"#, "input[0].content[0].type"),
            (#"{"model":"m","input":[{"type":"function_call","name":"f","arguments":"{}"}]}"#, "input[0].call_id"),
            (#"{"model":"m","input":[{"type":"function_call","call_id":"c","name":"f","arguments":{}}]}"#, "input[0].arguments"),
            (#"{"model":"m","input":[{"type":"item_reference","id":"msg_1"}]}"#, "input[0]"),
            (#"{"model":"m","input":"x","text":{"format":{"type":"json_schema","name":"n"}}}"#, "text.format.schema"),
            (#"{"model":"m","input":"x","text":{"format":{"type":"yaml"}}}"#, "text.format.type"),
            (#"{"model":"m","input":"x","text":{"format":"json"}}"#, "text.format"),
            (#"{"model":"m","input":"x","store":"yes"}"#, "store"),
            (#"{"model":"m","input":"x","max_output_tokens":0}"#, "max_output_tokens"),
            (#"{"model":"m","input":"x","temperature":"hot"}"#, "temperature"),
            (#"{"model":"m","input":"x","tools":[{"type":"function"}]}"#, "tools[0].name"),
            (#"{"model":"m","input":"x","tool_choice":"maybe"}"#, "tool_choice"),
            (#"{"model":"m","input":"x","metadata":{"n":1}}"#, "metadata.n"),
            (#"{"model":"m","input":"x","conversation":"conv_1"}"#, "conversation"),
        ]
        for (body, param) in cases {
            let e = rejection(body)
            #expect(e?.code == .invalidRequest && e?.param == param, "\(body) → \(String(describing: e))")
        }
    }

    @Test func builtInToolsItemsAndUnknownFieldsAreNativeOnly() throws {
        let r = try request(#"""
            {"model":"m","truncation":"auto","prompt_cache_key":"k","service_tier":"auto","include":["reasoning.encrypted_content"],
             "prompt":{"id":"pmpt_1"},"context_management":[{"type":"compaction"}],
             "input":[{"role":"user","content":[{"type":"input_text","text":"a"},{"type":"input_file","file_url":"https://x/a.pdf"}]},
                      {"type":"web_search_call","id":"ws_1","status":"completed","action":{"type":"search","query":"q"}}],
             "tools":[{"type":"function","name":"f"},{"type":"web_search"},{"type":"mcp","server_label":"s"}],
             "tool_choice":{"type":"allowed_tools","mode":"auto","tools":[]}}
            """#)
        #expect(r.nativeOnly == [
            "prompt", "context_management", "input[0].content[1] (input_file)", "input[1] (web_search_call)", "tools[1] (web_search)",
            "tools[2] (mcp)", "tool_choice (allowed_tools)",
        ])
        let chat = ResponsesCodec.chatBody(r).body
        #expect(chat["tools"]?.arrayValue?.count == 1)
        #expect(chat["tool_choice"] == nil && chat["truncation"] == nil && chat["include"] == nil)
    }

    // MARK: Chat shape

    @Test func multiPartInputWithAnImage() throws {
        let r = try request(#"""
            {"model":"m","input":[
              {"type":"message","role":"developer","content":[{"type":"input_text","text":"Rule one."},{"type":"input_text","text":"Rule two."}]},
              {"role":"user","content":[{"type":"input_text","text":"What is this?"},{"type":"input_image","image_url":"https://x/cat.png","detail":"high"}]},
              {"role":"assistant","content":[{"type":"output_text","text":"A cat.","annotations":[]}]}]}
            """#)
        let messages = try #require(ResponsesCodec.chatBody(r).body["messages"]?.arrayValue)
        #expect(messages[0] == ["role": "developer", "content": "Rule one.\nRule two."])
        #expect(messages[1] == [
            "role": "user",
            "content": [["type": "text", "text": "What is this?"], ["type": "image_url", "image_url": ["url": "https://x/cat.png", "detail": "high"]]],
        ])
        #expect(messages[2] == ["role": "assistant", "content": "A cat."])
    }

    @Test func functionCallsAndOutputsRoundTripWithHistoryFirst() throws {
        let r = try request(#"""
            {"model":"m","instructions":"Use tools.","max_output_tokens":300,"temperature":0.2,"top_p":0.9,"user":"u-1","parallel_tool_calls":false,
             "reasoning":{"effort":"low","summary":"auto"},"stream":true,
             "tools":[{"type":"function","name":"weather","description":"Weather","parameters":{"type":"object"},"strict":true}],
             "tool_choice":{"type":"function","name":"weather"},
             "input":[{"type":"function_call_output","call_id":"call_1","output":"18C"},
                      {"type":"function_call_output","call_id":"call_2","output":[{"type":"input_text","text":"21"},{"type":"input_text","text":"C"}]}]}
            """#)
        let history: [JSON] = [
            ["type": "message", "role": "user", "content": [["type": "input_text", "text": "Weather in Paris and Rome?"]]],
            ["type": "reasoning", "id": "rs_1", "summary": []],
            ["type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
             "content": [["type": "output_text", "text": "Checking.", "annotations": []]]],
            ["type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "weather", "arguments": #"{"city":"Paris"}"#],
            ["type": "function_call", "id": "fc_2", "call_id": "call_2", "name": "weather", "arguments": #"{"city":"Rome"}"#],
        ]
        let t = ResponsesCodec.chatBody(r, history: history)
        #expect(t.droppedReasoning == 1 && t.droppedItems.isEmpty)
        let chat = t.body
        let messages = try #require(chat["messages"]?.arrayValue)
        #expect(messages.map { $0["role"]?.stringValue } == ["system", "user", "assistant", "tool", "tool"])
        #expect(messages[1]["content"] == "Weather in Paris and Rome?")
        // The text and both calls are one assistant message.
        #expect(messages[2]["content"] == "Checking.")
        #expect(messages[2]["tool_calls"] == [
            ["id": "call_1", "type": "function", "function": ["name": "weather", "arguments": #"{"city":"Paris"}"#]],
            ["id": "call_2", "type": "function", "function": ["name": "weather", "arguments": #"{"city":"Rome"}"#]],
        ])
        #expect(messages[3] == ["role": "tool", "tool_call_id": "call_1", "content": "18C"])
        #expect(messages[4] == ["role": "tool", "tool_call_id": "call_2", "content": "21C"])
        #expect(chat["tools"] == [[
            "type": "function",
            "function": ["name": "weather", "description": "Weather", "parameters": ["type": "object"], "strict": true],
        ]])
        #expect(chat["tool_choice"] == ["type": "function", "function": ["name": "weather"]])
        #expect(chat["parallel_tool_calls"] == false)
        #expect(chat["max_tokens"] == 300 && chat["temperature"] == 0.2 && chat["top_p"] == 0.9 && chat["user"] == "u-1")
        #expect(chat["reasoning_effort"] == "low")
        #expect(chat["stream"] == true && chat["stream_options"] == ["include_usage": true])
        _ = try ChatRequest(body: .object(chat))  // the Engine accepts it
    }

    @Test func callsWithoutTextMakeTheirOwnAssistantMessage() throws {
        let r = try request(#"""
            {"model":"m","input":[{"role":"user","content":"a"},
              {"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c1","output":"1"},
              {"type":"function_call","call_id":"c2","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c2","output":"2"}]}
            """#)
        let messages = try #require(ResponsesCodec.chatBody(r).body["messages"]?.arrayValue)
        #expect(messages.map { $0["role"]?.stringValue } == ["user", "assistant", "tool", "assistant", "tool"])
        #expect(messages[1]["content"] == .null && messages[3]["tool_calls"]?.arrayValue?.count == 1)
    }

    @Test func textFormatsBecomeResponseFormats() throws {
        let schema = try request(#"""
            {"model":"m","input":"x","text":{"format":{"type":"json_schema","name":"city","schema":{"type":"object","properties":{"n":{"type":"string"}}},"strict":true}}}
            """#)
        #expect(ResponsesCodec.chatBody(schema).body["response_format"] == [
            "type": "json_schema",
            "json_schema": ["name": "city", "schema": ["type": "object", "properties": ["n": ["type": "string"]]], "strict": true],
        ])
        let object = try request(#"{"model":"m","input":"x","text":{"format":{"type":"json_object"}}}"#)
        #expect(ResponsesCodec.chatBody(object).body["response_format"] == ["type": "json_object"])
        let plain = try request(#"{"model":"m","input":"x","text":{"format":{"type":"text"},"verbosity":"low"}}"#)
        #expect(ResponsesCodec.chatBody(plain).body["response_format"] == nil)
    }

    @Test func normalizedInputHasIdsAndPartLists() throws {
        let r = try request(#"""
            {"model":"m","input":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"},
              {"type":"message","id":"msg_own","role":"user","content":[{"type":"input_image","image_url":"https://x/a.png"}]},
              {"type":"function_call","call_id":"c","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c","output":"ok"}]}
            """#)
        let items = ResponsesCodec.normalizedInput(r, responseID: "resp_abc")
        #expect(items == ResponsesCodec.normalizedInput(r, responseID: "resp_abc"))
        #expect(items.map { $0["id"]?.stringValue } == ["msg_abc_in0", "msg_abc_in1", "msg_own", "fc_abc_in3", "fco_abc_in4"])
        #expect(items[0] == ["id": "msg_abc_in0", "type": "message", "role": "user", "content": [["type": "input_text", "text": "Hi"]], "status": "completed"])
        #expect(items[1]["content"] == [["type": "output_text", "text": "Hello", "annotations": []]])
        #expect(items[2]["content"] == [["type": "input_image", "image_url": "https://x/a.png", "detail": "auto"]])
        #expect(items[3]["status"] == "completed" && items[4]["output"] == "ok")
    }

    // MARK: Answers

    static let completion: JSONObject = [
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini-2024-07-18",
        "choices": [["index": 0, "finish_reason": "tool_calls", "message": [
            "role": "assistant", "content": "Checking.",
            "tool_calls": [["id": "call_9", "type": "function", "function": ["name": "weather", "arguments": #"{"city":"Paris"}"#]]],
        ]]],
        "usage": ["prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42, "prompt_tokens_details": ["cached_tokens": 8],
                  "completion_tokens_details": ["reasoning_tokens": 4]],
    ]

    @Test func aChatCompletionBecomesAResponse() throws {
        let r = try request(#"{"model":"gpt-4o-mini","input":"x","instructions":"I","tools":[{"type":"function","name":"weather"}],"metadata":{"x-sluice-purpose":"p","k":"v"}}"#)
        let out = ResponsesCodec.response(fromChat: Self.completion, id: "resp_1", createdAt: 1_700_000_000, request: r)
        #expect(out["id"] == "resp_1" && out["object"] == "response" && out["created_at"] == 1_700_000_000)
        #expect(out["status"] == "completed" && out["error"] == .null && out["incomplete_details"] == .null)
        #expect(out["model"] == "gpt-4o-mini-2024-07-18" && out["instructions"] == "I" && out["store"] == true)
        #expect(out["tool_choice"] == "auto" && out["parallel_tool_calls"] == true && out["text"] == ["format": ["type": "text"]])
        #expect(out["metadata"] == ["k": "v"] && out["tools"] == [["type": "function", "name": "weather"]])
        #expect(out["output_text"] == nil)  // the SDKs compute it
        #expect(out["output"] == [
            ["id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
             "content": [["type": "output_text", "text": "Checking.", "annotations": []]]],
            ["id": "fc_1_0", "type": "function_call", "status": "completed", "arguments": #"{"city":"Paris"}"#, "call_id": "call_9", "name": "weather"],
        ])
        #expect(out["usage"] == [
            "input_tokens": 30, "input_tokens_details": ["cached_tokens": 8, "cache_write_tokens": 0], "output_tokens": 12,
            "output_tokens_details": ["reasoning_tokens": 4], "total_tokens": 42,
        ])
        // And back: the chat shape the Engine reads from a native answer.
        let (chat, usage) = ResponsesCodec.chatCompletion(fromResponse: out)
        #expect(usage == Usage(inputTokens: 30, outputTokens: 12, cachedTokens: 8))
        let choice = chat["choices"]?.arrayValue?.first
        #expect(choice?["finish_reason"] == "tool_calls" && choice?["message"]?["content"] == "Checking.")
        #expect(choice?["message"]?["tool_calls"] == Self.completion["choices"]?.arrayValue?.first?["message"]?["tool_calls"])
        #expect(chat["usage"]?["completion_tokens_details"] == ["reasoning_tokens": 4])
        #expect(ChatText.completionText(chat) == "Checking.")
    }

    @Test func lengthIsIncompleteAndRefusalsArePartsOfTheirOwn() throws {
        let r = try request(#"{"model":"m","input":"x","max_output_tokens":5}"#)
        let cut: JSONObject = ["model": "m", "choices": [["finish_reason": "length", "message": ["role": "assistant", "content": "One two"]]]]
        let out = ResponsesCodec.response(fromChat: cut, id: "resp_2", createdAt: 1, request: r, usage: Usage(inputTokens: 3, outputTokens: 5))
        #expect(out["status"] == "incomplete" && out["incomplete_details"] == ["reason": "max_output_tokens"])
        #expect(out["output"]?.arrayValue?.first?["status"] == "incomplete")
        #expect(out["usage"]?["total_tokens"] == 8 && out["max_output_tokens"] == 5)
        #expect(ResponsesCodec.chatCompletion(fromResponse: out).completion["choices"]?.arrayValue?.first?["finish_reason"] == "length")

        let refused: JSONObject = ["choices": [["finish_reason": "stop", "message": ["role": "assistant", "content": nil, "refusal": "I can't."]]]]
        let out2 = ResponsesCodec.response(fromChat: refused, id: "resp_3", createdAt: 1, request: r)
        #expect(out2["output"]?.arrayValue?.first?["content"] == [["type": "refusal", "refusal": "I can't."]])
        #expect(out2["usage"] == .null && out2["model"] == "m")
        let back = ResponsesCodec.chatCompletion(fromResponse: out2).completion
        #expect(back["choices"]?.arrayValue?.first?["message"]?["refusal"] == "I can't.")
    }

    @Test func theUpstreamBodyOwnsNoState() throws {
        let body: JSONObject = try #require(try JSON.parse(#"""
            {"model":"alias","previous_response_id":"resp_0","store":true,"background":true,"stream_options":{"include_obfuscation":false},
             "input":[{"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"a","annotations":[]}]},
                      {"type":"reasoning","id":"rs_1","summary":[]},
                      {"type":"reasoning","id":"rs_2","summary":[],"encrypted_content":"gAAA"},
                      {"type":"function_call","id":"fc_1","call_id":"c","name":"f","arguments":"{}"},
                      {"type":"web_search_call","id":"ws_1","status":"completed"}]}
            """#).objectValue)
        let out = ResponsesCodec.upstreamBody(body, model: "gpt-4.1-2025-04-14", stream: false)
        #expect(out["model"] == "gpt-4.1-2025-04-14" && out["store"] == false)
        #expect(out["previous_response_id"] == nil && out["background"] == nil && out["stream"] == nil && out["stream_options"] == nil)
        let input = try #require(out["input"]?.arrayValue)
        #expect(input.map { $0["id"]?.stringValue } == [nil, "rs_2", nil, "ws_1"])
        #expect(input.map { $0["type"]?.stringValue } == ["message", "reasoning", "function_call", "web_search_call"])
        #expect(ResponsesCodec.upstreamBody(body, model: "g", stream: true)["stream"] == true)
    }
}
