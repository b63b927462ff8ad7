import SluiceCore

/// Turns OpenAI `chat.completion.chunk`s into Anthropic stream events for
/// `/v1/messages` clients: `message_start`, content blocks (text and
/// `tool_use` with `input_json_delta`), `message_delta` with the stop reason
/// and usage, and `message_stop`.
public struct AnthropicEventWriter: Sendable {
    enum Block: Equatable { case text, tool(Int) }

    var started = false
    var open: Block?
    var index = -1
    var stop: String?
    var usage: JSON?

    /// A writer before the first chunk.
    public init() {}

    static func event(_ name: String, _ body: JSON) -> [UInt8] {
        var out = Array("event: \(name)\ndata: ".utf8)
        body.write(to: &out)
        out.append(contentsOf: [0x0A, 0x0A])
        return out
    }

    mutating func close(into out: inout [UInt8]) {
        guard open != nil else { return }
        out += Self.event("content_block_stop", ["type": "content_block_stop", "index": .int(index)])
        open = nil
    }

    mutating func begin(_ block: Block, _ contentBlock: JSON, into out: inout [UInt8]) {
        close(into: &out)
        index += 1
        open = block
        out += Self.event("content_block_start", ["type": "content_block_start", "index": .int(index), "content_block": contentBlock])
    }

    /// The events for one OpenAI chunk (possibly none).
    public mutating func frames(for chunk: JSONObject) -> [UInt8] {
        var out: [UInt8] = []
        if !started {
            started = true
            out += Self.event("message_start", [
                "type": "message_start",
                "message": [
                    "id": .string(AnthropicInbound.messageID(chunk["id"]?.stringValue)), "type": "message", "role": "assistant", "model": chunk["model"] ?? "",
                    "content": [], "stop_reason": nil, "stop_sequence": nil,
                    "usage": ["input_tokens": 0, "output_tokens": 0],
                ],
            ])
        }
        if let u = chunk["usage"], !u.isNull { usage = u }
        guard let choice = chunk["choices"]?.arrayValue?.first else { return out }
        let delta = choice["delta"]
        if let text = delta?["content"]?.stringValue, !text.isEmpty {
            if open != .text { begin(.text, ["type": "text", "text": ""], into: &out) }
            out += Self.event("content_block_delta", [
                "type": "content_block_delta", "index": .int(index), "delta": ["type": "text_delta", "text": .string(text)],
            ])
        }
        for call in delta?["tool_calls"]?.arrayValue ?? [] {
            let n = call["index"]?.intValue ?? 0
            if open != .tool(n) {
                begin(.tool(n), [
                    "type": "tool_use", "id": call["id"] ?? "", "name": call["function"]?["name"] ?? "", "input": [:],
                ], into: &out)
            }
            if let args = call["function"]?["arguments"]?.stringValue, !args.isEmpty {
                out += Self.event("content_block_delta", [
                    "type": "content_block_delta", "index": .int(index),
                    "delta": ["type": "input_json_delta", "partial_json": .string(args)],
                ])
            }
        }
        if let finish = choice["finish_reason"]?.stringValue { stop = AnthropicInbound.stopReason(finish) }
        return out
    }

    /// The closing events once the OpenAI stream ended cleanly.
    public mutating func finish() -> [UInt8] {
        var out: [UInt8] = []
        if !started { out += frames(for: [:]) }
        close(into: &out)
        let u = AnthropicInbound.usage(usage)
        out += Self.event("message_delta", [
            "type": "message_delta", "delta": ["stop_reason": .string(stop ?? "end_turn"), "stop_sequence": nil],
            "usage": ["output_tokens": u["output_tokens"] ?? 0, "input_tokens": u["input_tokens"] ?? 0,
                      "cache_read_input_tokens": u["cache_read_input_tokens"] ?? 0],
        ])
        out += Self.event("message_stop", ["type": "message_stop"])
        return out
    }

    /// An `error` event for `error` (Anthropic's shape: `{"type":"error","error":{"type","message"}}`):
    /// the stream failed, or a guard stopped it, after the head went out; it never looks complete.
    public static func errorEvent(_ error: SluiceError) -> [UInt8] {
        event("error", AnthropicInbound.error(error))
    }
}
