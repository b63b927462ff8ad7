import SluiceCore

/// Builds OpenAI-shaped completions and stream events for ``FakeUpstream``.
struct FakeAnswer {
    let text: String
    let model: String
    let usage: Usage
    let includeUsage: Bool
    let omitUsage: Bool
    let tools: [FakeUpstream.ToolUse]

    init(request: JSONObject, reply: FakeUpstream.Reply) {
        let messages = request["messages"]?.arrayValue ?? []
        let lastUser = messages.last { $0["role"]?.stringValue == "user" }
        text = reply.text ?? "fake answer to: " + ChatText.content(lastUser?["content"])
        model = reply.answeredModel ?? request["model"]?.stringValue ?? "fake"
        usage = reply.usage
        includeUsage = request["stream_options"]?["include_usage"]?.boolValue ?? false
        omitUsage = reply.omitUsage
        tools = reply.toolUses
    }

    var toolCalls: [JSON] {
        tools.map { ["id": .string($0.id), "type": "function", "function": ["name": .string($0.name), "arguments": .string($0.input.jsonString)]] }
    }

    var message: JSON {
        var m: JSONObject = ["role": "assistant", "content": .string(text), "refusal": nil]
        if !tools.isEmpty { m["tool_calls"] = .array(toolCalls) }
        return .object(m)
    }

    func completion() -> [UInt8] {
        JSON.object([
            "id": "chatcmpl-fake", "object": "chat.completion", "created": 1_700_000_000, "model": .string(model),
            "choices": [["index": 0, "message": message, "logprobs": nil, "finish_reason": tools.isEmpty ? "stop" : "tool_calls"]],
            "usage": usage.openAIJSON, "system_fingerprint": "fp_fake", "service_tier": "default",
        ]).serialized()
    }

    func events() -> [[UInt8]] {
        func event(_ choices: [JSON], usage: JSON? = nil) -> [UInt8] {
            var obj: JSONObject = [
                "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1_700_000_000,
                "model": .string(model), "choices": .array(choices),
            ]
            if includeUsage { obj["usage"] = usage ?? .null }
            var out = Array("data: ".utf8)
            JSON.object(obj).write(to: &out)
            out.append(contentsOf: [0x0A, 0x0A])
            return out
        }
        var out: [[UInt8]] = []
        out.append(event([["index": 0, "delta": ["role": "assistant", "content": ""], "finish_reason": nil]]))
        var rest = Substring(text)
        while !rest.isEmpty {
            let piece = rest.prefix(5)
            rest = rest.dropFirst(5)
            out.append(event([["index": 0, "delta": ["content": .string(String(piece))], "finish_reason": nil]]))
        }
        for (i, call) in toolCalls.enumerated() {
            var head = call.objectValue ?? [:]
            head["index"] = .int(i)
            let args = call["function"]?["arguments"]?.stringValue ?? ""
            head["function"] = ["name": call["function"]?["name"] ?? "", "arguments": ""]
            out.append(event([["index": 0, "delta": ["tool_calls": [.object(head)]], "finish_reason": nil]]))
            out.append(event([["index": 0, "delta": ["tool_calls": [["index": .int(i), "function": ["arguments": .string(args)]]]], "finish_reason": nil]]))
        }
        out.append(event([["index": 0, "delta": [:], "finish_reason": tools.isEmpty ? "stop" : "tool_calls"]]))
        if includeUsage && !omitUsage { out.append(event([], usage: usage.openAIJSON)) }
        out.append(Array("data: [DONE]\n\n".utf8))
        return out
    }
}
