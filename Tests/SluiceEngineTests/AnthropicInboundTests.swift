import Foundation
import SluiceCore
@testable import SluiceProviders
import Testing

/// The `/v1/messages` request as both the OpenAI shape (policies, other families)
/// and the native request (Anthropic targets).
@Suite struct AnthropicInboundTests {
    static let body = #"""
        {"model":"claude","max_tokens":2048,"thinking":{"type":"enabled","budget_tokens":1024},"top_k":5,"service_tier":"auto",
         "system":[{"type":"text","text":"Use the notes.","cache_control":{"type":"ephemeral","ttl":"1h"}}],
         "tools":[{"name":"lookup","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}},
                  {"type":"web_search_20250305","name":"web_search","max_uses":2}],
         "messages":[
           {"role":"user","content":"Hi"},
           {"role":"assistant","content":[{"type":"thinking","thinking":"Greet.","signature":"c2ln"},{"type":"redacted_thinking","data":"eHh4"},
                                          {"type":"text","text":"Hello!","citations":[]}]},
           {"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"Sky: blue."},"title":"Notes"},
                                     {"type":"text","text":"Sky colour?"}]}],
         "metadata":{"user_id":"u-1","x-sluice-purpose":"support"}}
        """#

    @Test func nativeOnlyFeaturesAreListedAndKeptInTheNativeBodyOnly() throws {
        let json = try JSON.parse(Self.body)
        let t = try AnthropicInbound.translate(json, headers: [("Anthropic-Beta", "b1"), ("x-other", "no")])
        #expect(t.native.format == .anthropicMessages)
        #expect(t.native.nativeOnly == ["thinking", "top_k", "document", "web_search_20250305 tool"])
        #expect(t.native.headers.map { [$0.0, $0.1] } == [["anthropic-beta", "b1"]])
        // The native body is the client's, less Sluice's metadata key.
        var expected = try #require(json.objectValue)
        expected["metadata"] = ["user_id": "u-1"]
        #expect(t.native.body == expected)

        let o = t.openAI
        #expect(o["thinking"] == nil && o["top_k"] == nil && o["service_tier"] == nil)
        #expect(o["user"] == "u-1")
        #expect(o["metadata"] == ["x-sluice-purpose": "support"])
        let messages = try #require(o["messages"]?.arrayValue)
        #expect(messages.map { $0["role"]?.stringValue } == ["system", "user", "assistant", "user"])
        #expect(messages[0]["content"] == "Use the notes.")
        #expect(messages[2]["content"] == "Hello!")  // earlier reasoning dropped
        // The document's text is there for the guards and the token estimate.
        #expect(messages[3]["content"] == "Notes\nSky: blue.Sky colour?")
        #expect(o["tools"]?.arrayValue?.map { $0["function"]?["name"]?.stringValue } == ["lookup"])
    }

    @Test func crossingFeaturesAreNotNativeOnly() throws {
        let json = try JSON.parse(
            #"{"model":"m","max_tokens":9,"thinking":{"type":"disabled"},"service_tier":"auto","system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral","ttl":"5m"}}],"messages":[{"role":"user","content":"x"}]}"#)
        let t = try AnthropicInbound.translate(json)
        #expect(t.native.nativeOnly.isEmpty)
        #expect(t.native.body == json.objectValue)
        #expect(t.native.body["metadata"] == nil)
    }

    @Test func nativeBodyIsAddressedToTheTarget() throws {
        let t = try AnthropicInbound.translate(try JSON.parse(Self.body))
        let request = UpstreamRequest(body: t.openAI, model: "claude-sonnet-4-20250514", stream: true, native: t.native)
        let sent = try AnthropicProvider.body(for: request)
        var expected = t.native.body
        expected["model"] = "claude-sonnet-4-20250514"
        expected["stream"] = true
        #expect(sent == expected)
        // Without the native request, the OpenAI shape is translated as before.
        let translated = try AnthropicProvider.body(for: UpstreamRequest(body: t.openAI, model: "claude-x", stream: false))
        #expect(translated["thinking"] == nil)
        #expect(translated["system"] == "Use the notes.")
    }

    @Test func translatedMessageIdsAreMsgOnce() {
        #expect(AnthropicInbound.messageID("chatcmpl-msg_01ABC") == "msg_01ABC")
        #expect(AnthropicInbound.messageID("chatcmpl-call_9") == "msg_call_9")
        #expect(AnthropicInbound.messageID(nil) == "msg_")
        let m = AnthropicInbound.message(fromOpenAI: [
            "id": "chatcmpl-msg_fake", "model": "claude", "choices": [["message": ["content": "hi"], "finish_reason": "stop"]],
        ])
        #expect(m["id"] == "msg_fake")
        var writer = AnthropicEventWriter()
        let start = String(decoding: writer.frames(for: ["id": "chatcmpl-msg_fake", "model": "claude", "choices": []]), as: UTF8.self)
        #expect(start.contains(#""id":"msg_fake""#))
    }

    @Test func nativeStreamEventsAreFramedAsSent() {
        let e = SSEDecoder.Event(event: "content_block_delta", data: Array(#"{"type":"content_block_delta"}"#.utf8))
        #expect(String(decoding: AnthropicChunkStream.frame(e), as: UTF8.self) == "event: content_block_delta\ndata: {\"type\":\"content_block_delta\"}\n\n")
    }
}
