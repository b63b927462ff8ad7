import SluiceCore

extension FakeUpstream {
    /// `reply` for `request`: with `toolsOnce`, no tool calls once a tool result came back.
    static func answering(_ reply: Reply, _ request: JSONObject) -> Reply {
        guard reply.toolsOnce, let result = toolResult(in: request) else { return reply }
        var r = reply
        r.toolUses = []
        r.text = "The tool said: " + result
        return r
    }

    /// The last tool result a request carries: a chat `tool` message, an Anthropic `tool_result`
    /// block, a Gemini `functionResponse` part or a Responses `function_call_output` item; `nil` when there is none.
    static func toolResult(in request: JSONObject) -> String? {
        for m in (request["messages"]?.arrayValue ?? []).reversed() {
            if m["role"]?.stringValue == "tool" { return ChatText.content(m["content"]) }
            for block in m["content"]?.arrayValue ?? [] where block["type"]?.stringValue == "tool_result" {
                return block["content"]?.stringValue ?? ChatText.content(block["content"])
            }
        }
        for c in (request["contents"]?.arrayValue ?? []).reversed() {
            if let r = c["parts"]?.arrayValue?.compactMap({ $0["functionResponse"]?["response"] }).last { return r.jsonString }
        }
        for item in (request["input"]?.arrayValue ?? []).reversed() where item["type"]?.stringValue == "function_call_output" {
            return item["output"]?.stringValue ?? item["output"]?.jsonString ?? ""
        }
        return nil
    }

    /// An OpenAI embedding list: one 3-number vector per input, usage from the reply.
    static func embeddings(for request: JSONObject, reply: Reply) -> [UInt8] {
        let input = request["input"] ?? .null
        let count = input.stringValue != nil ? 1 : (input.arrayValue?.allSatisfy { $0.intValue != nil } == true ? 1 : input.arrayValue?.count ?? 0)
        let data: [JSON] = (0..<count).map { i in
            ["object": "embedding", "index": .int(i), "embedding": [.double(0.1 * Double(i + 1)), 0.2, -0.3]]
        }
        let body: JSON = [
            "object": "list", "data": .array(data),
            "model": .string(reply.answeredModel ?? request["model"]?.stringValue ?? "fake"),
            "usage": ["prompt_tokens": .int(reply.usage.inputTokens), "total_tokens": .int(reply.usage.inputTokens)],
        ]
        return body.serialized()
    }

    /// A Gemini `batchEmbedContents` answer: one 3-number vector per request.
    static func geminiEmbeddings(for request: JSONObject) -> [UInt8] {
        let count = request["requests"]?.arrayValue?.count ?? 0
        let embeddings: [JSON] = (0..<count).map { i in ["values": [.double(0.1 * Double(i + 1)), 0.2, -0.3]] }
        return JSON.object(["embeddings": .array(embeddings)]).serialized()
    }
}
