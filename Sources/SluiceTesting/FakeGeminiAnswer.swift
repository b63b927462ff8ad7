import SluiceCore

/// Builds Gemini `generateContent` answers and `streamGenerateContent?alt=sse` events for ``FakeUpstream``.
struct FakeGeminiAnswer {
    let text: String
    let usage: Usage
    let tools: [FakeUpstream.ToolUse]
    let model: String

    init(request: JSONObject, reply: FakeUpstream.Reply) {
        let last = request["contents"]?.arrayValue?.last { $0["role"]?.stringValue == "user" }
        let said = (last?["parts"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined()
        text = reply.text ?? "fake answer to: " + said
        usage = reply.usage
        tools = reply.toolUses
        model = reply.answeredModel ?? "gemini-fake-001"
    }

    var usageJSON: JSON {
        [
            "promptTokenCount": .int(usage.inputTokens), "candidatesTokenCount": .int(usage.outputTokens),
            "totalTokenCount": .int(usage.inputTokens + usage.outputTokens), "cachedContentTokenCount": .int(usage.cachedTokens),
        ]
    }

    func response(parts: [JSON], finish: Bool, usage: Bool) -> JSON {
        var candidate: JSONObject = ["content": ["role": "model", "parts": .array(parts)], "index": 0]
        if finish { candidate["finishReason"] = "STOP" }
        var r: JSONObject = ["candidates": [.object(candidate)], "modelVersion": .string(model), "responseId": "resp-fake"]
        if usage { r["usageMetadata"] = usageJSON }
        return .object(r)
    }

    var toolParts: [JSON] { tools.map { ["functionCall": ["name": .string($0.name), "args": $0.input]] } }

    func whole() -> [UInt8] {
        response(parts: (text.isEmpty ? [] : [["text": .string(text)]]) + toolParts, finish: true, usage: true).serialized()
    }

    func events() -> [[UInt8]] {
        var out: [[UInt8]] = []
        func event(_ j: JSON) {
            var e = Array("data: ".utf8)
            j.write(to: &e)
            e.append(contentsOf: Array("\r\n\r\n".utf8))
            out.append(e)
        }
        var rest = Substring(text)
        while !rest.isEmpty {
            let piece = rest.prefix(6)
            rest = rest.dropFirst(6)
            event(response(parts: [["text": .string(String(piece))]], finish: false, usage: false))
        }
        event(response(parts: toolParts, finish: true, usage: true))
        return out
    }
}
