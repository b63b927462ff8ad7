import SluiceCore

/// A cached `chat.completion` replayed as the SSE stream a streaming client expects:
/// a role chunk, the content, the tool calls, the finish reason, the usage when
/// asked for, and `[DONE]`.
enum CachedStream {
    static func events(_ completion: JSONObject, includeUsage: Bool) -> [UInt8] {
        var out: [UInt8] = []
        let head: JSONObject = [
            "id": completion["id"] ?? "chatcmpl-cached", "object": "chat.completion.chunk",
            "created": completion["created"] ?? 0, "model": completion["model"] ?? "",
        ]
        func emit(_ choices: [JSON], usage: JSON? = nil) {
            var chunk = head
            chunk["choices"] = .array(choices)
            if includeUsage { chunk["usage"] = usage ?? .null }
            out.append(contentsOf: Array("data: ".utf8))
            JSON.object(chunk).write(to: &out)
            out.append(contentsOf: [0x0A, 0x0A])
        }
        for choice in completion["choices"]?.arrayValue ?? [] {
            let index = choice["index"] ?? 0
            let message = choice["message"]
            emit([["index": index, "delta": ["role": "assistant", "content": ""], "finish_reason": nil]])
            if let text = message?["content"]?.stringValue, !text.isEmpty {
                emit([["index": index, "delta": ["content": .string(text)], "finish_reason": nil]])
            }
            if let refusal = message?["refusal"]?.stringValue, !refusal.isEmpty {
                emit([["index": index, "delta": ["refusal": .string(refusal)], "finish_reason": nil]])
            }
            for (i, call) in (message?["tool_calls"]?.arrayValue ?? []).enumerated() {
                var c = call.objectValue ?? [:]
                c["index"] = .int(i)
                emit([["index": index, "delta": ["tool_calls": [.object(c)]], "finish_reason": nil]])
            }
            emit([["index": index, "delta": [:], "finish_reason": choice["finish_reason"] ?? "stop"]])
        }
        if includeUsage { emit([], usage: completion["usage"] ?? .null) }
        out.append(contentsOf: Array("data: [DONE]\n\n".utf8))
        return out
    }
}
