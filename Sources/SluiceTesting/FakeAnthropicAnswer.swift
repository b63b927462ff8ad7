import SluiceCore

/// Builds Anthropic Messages answers and stream events for ``FakeUpstream`` (`POST …/messages`).
/// A request with `thinking: {type: enabled}` is answered with a signed `thinking` block
/// first (streamed as `thinking_delta`s and a `signature_delta`); usage reports the
/// reply's cache reads and writes as `cache_read_input_tokens` / `cache_creation_input_tokens`.
public struct FakeAnthropicAnswer {
    let text: String
    let model: String
    let usage: Usage
    let tools: [FakeUpstream.ToolUse]
    /// The reasoning a request with `thinking: {type: enabled}` gets first, as a signed `thinking` block.
    let thinking: String?

    /// The signature of the fake's `thinking` blocks.
    public static let signature = "EqQBCkYIBRgCKkDfakeSignatureOfTheThinkingBlock=="

    init(request: JSONObject, reply: FakeUpstream.Reply) {
        let messages = request["messages"]?.arrayValue ?? []
        let lastUser = messages.last { $0["role"]?.stringValue == "user" }
        let content = lastUser?["content"]
        let said = content?.stringValue
            ?? (content?.arrayValue ?? []).compactMap { $0["type"]?.stringValue == "text" ? $0["text"]?.stringValue : nil }.joined()
        let text = reply.text ?? "fake answer to: " + said
        model = reply.answeredModel ?? request["model"]?.stringValue ?? "claude-fake"
        usage = reply.usage
        thinking = request["thinking"]?["type"]?.stringValue == "enabled" ? "The user said \"\(said)\"; answer briefly." : nil
        if reply.toolUses.isEmpty, request["tool_choice"]?["type"]?.stringValue == "tool",
            let forced = request["tool_choice"]?["name"]?.stringValue
        {
            // A model forced to one tool answers only with that tool's input: the text, as JSON.
            let input = (try? JSON.parse(text)).flatMap { $0.objectValue.map(JSON.object) } ?? ["text": .string(text)]
            self.text = ""
            tools = [FakeUpstream.ToolUse(id: "toolu_forced", name: forced, input: input)]
        } else {
            self.text = text
            tools = reply.toolUses
        }
    }

    var usageJSON: JSON {
        [
            "input_tokens": .int(usage.inputTokens - usage.cachedTokens - usage.cacheWriteTokens),
            "output_tokens": .int(usage.outputTokens), "cache_read_input_tokens": .int(usage.cachedTokens),
            "cache_creation_input_tokens": .int(usage.cacheWriteTokens),
        ]
    }

    func message() -> [UInt8] {
        var content: [JSON] = []
        if let thinking { content.append(["type": "thinking", "thinking": .string(thinking), "signature": .string(Self.signature)]) }
        if !text.isEmpty { content.append(["type": "text", "text": .string(text)]) }
        for t in tools { content.append(["type": "tool_use", "id": .string(t.id), "name": .string(t.name), "input": t.input]) }
        return JSON.object([
            "id": "msg_fake", "type": "message", "role": "assistant", "model": .string(model), "content": .array(content),
            "stop_reason": tools.isEmpty ? "end_turn" : "tool_use", "stop_sequence": nil, "usage": usageJSON,
        ]).serialized()
    }

    func events() -> [[UInt8]] {
        func event(_ name: String, _ obj: JSON) -> [UInt8] {
            var out = Array("event: \(name)\ndata: ".utf8)
            obj.write(to: &out)
            out.append(contentsOf: [0x0A, 0x0A])
            return out
        }
        var out: [[UInt8]] = []
        var start = usageJSON.objectValue ?? [:]
        start["output_tokens"] = 1
        out.append(event("message_start", [
            "type": "message_start",
            "message": ["id": "msg_fake", "type": "message", "role": "assistant", "model": .string(model), "content": [],
                        "stop_reason": nil, "usage": .object(start)],
        ]))
        var index = 0
        if let thinking {
            out.append(event("content_block_start", [
                "type": "content_block_start", "index": 0, "content_block": ["type": "thinking", "thinking": "", "signature": ""],
            ]))
            var rest = Substring(thinking)
            while !rest.isEmpty {
                let piece = rest.prefix(12)
                rest = rest.dropFirst(12)
                out.append(event("content_block_delta", [
                    "type": "content_block_delta", "index": 0, "delta": ["type": "thinking_delta", "thinking": .string(String(piece))],
                ]))
            }
            out.append(event("content_block_delta", [
                "type": "content_block_delta", "index": 0, "delta": ["type": "signature_delta", "signature": .string(Self.signature)],
            ]))
            out.append(event("content_block_stop", ["type": "content_block_stop", "index": 0]))
            index = 1
        }
        if !text.isEmpty {
            out.append(event("content_block_start", [
                "type": "content_block_start", "index": .int(index), "content_block": ["type": "text", "text": ""],
            ]))
            out.append(event("ping", ["type": "ping"]))
            var rest = Substring(text)
            while !rest.isEmpty {
                let piece = rest.prefix(5)
                rest = rest.dropFirst(5)
                out.append(event("content_block_delta", [
                    "type": "content_block_delta", "index": .int(index), "delta": ["type": "text_delta", "text": .string(String(piece))],
                ]))
            }
            out.append(event("content_block_stop", ["type": "content_block_stop", "index": .int(index)]))
            index += 1
        }
        for t in tools {
            out.append(event("content_block_start", [
                "type": "content_block_start", "index": .int(index),
                "content_block": ["type": "tool_use", "id": .string(t.id), "name": .string(t.name), "input": [:]],
            ]))
            let json = t.input.jsonString
            let half = json.index(json.startIndex, offsetBy: json.count / 2)
            for part in [String(json[..<half]), String(json[half...])] {
                out.append(event("content_block_delta", [
                    "type": "content_block_delta", "index": .int(index), "delta": ["type": "input_json_delta", "partial_json": .string(part)],
                ]))
            }
            out.append(event("content_block_stop", ["type": "content_block_stop", "index": .int(index)]))
            index += 1
        }
        out.append(event("message_delta", [
            "type": "message_delta", "delta": ["stop_reason": tools.isEmpty ? "end_turn" : "tool_use", "stop_sequence": nil],
            "usage": ["output_tokens": .int(usage.outputTokens)],
        ]))
        out.append(event("message_stop", ["type": "message_stop"]))
        return out
    }
}
