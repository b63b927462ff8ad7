import SluiceCore

/// Translates Bedrock Converse answers into OpenAI chat shapes.
enum BedrockResponse {
    /// Converse `stopReason` → OpenAI `finish_reason`; a forced JSON tool ends as `stop`.
    static func finishReason(_ stop: String?, forcedJSON: Bool = false) -> String {
        switch stop {
        case "max_tokens", "model_context_window_exceeded": "length"
        case "tool_use": forcedJSON ? "stop" : "tool_calls"
        case "content_filtered", "guardrail_intervened": "content_filter"
        default: "stop"  // end_turn, stop_sequence
        }
    }

    /// Converse `usage` as Sluice counts it: input includes cache reads and writes.
    static func usage(_ u: JSON?) -> Usage {
        let read = u?["cacheReadInputTokens"]?.intValue ?? 0
        let write = u?["cacheWriteInputTokens"]?.intValue ?? 0
        return Usage(
            inputTokens: (u?["inputTokens"]?.intValue ?? 0) + read + write, outputTokens: u?["outputTokens"]?.intValue ?? 0,
            cachedTokens: read, cacheWriteTokens: write)
    }

    /// A `chat.completion` for a Converse answer to `model`; `requestID` (`x-amzn-RequestId`) names it.
    static func completion(_ r: JSONObject, model: String, requestID: String?, created: Int) -> (JSONObject, Usage) {
        var text = ""
        var calls: [JSON] = []
        var forcedJSON = false
        for block in r["output"]?["message"]?["content"]?.arrayValue ?? [] {
            if let t = block["text"]?.stringValue { text += t }
            if let use = block["toolUse"] {
                let input = use["input"] ?? .object([:])
                if use["name"]?.stringValue == BedrockRequest.jsonToolName {
                    forcedJSON = true
                    text += input.jsonString
                } else {
                    calls.append([
                        "id": use["toolUseId"] ?? "", "type": "function",
                        "function": ["name": use["name"] ?? "", "arguments": .string(input.jsonString)],
                    ])
                }
            }
        }
        let stop = r["stopReason"]?.stringValue
        var message: JSONObject = ["role": "assistant", "content": text.isEmpty && !calls.isEmpty ? .null : .string(text), "refusal": nil]
        if !calls.isEmpty { message["tool_calls"] = .array(calls) }
        let u = usage(r["usage"])
        let out: JSONObject = [
            "id": .string("chatcmpl-bedrock" + (requestID.map { "-" + $0 } ?? "")), "object": "chat.completion",
            "created": .int(created), "model": .string(model),
            "choices": [["index": 0, "message": .object(message), "logprobs": nil,
                         "finish_reason": .string(finishReason(stop, forcedJSON: forcedJSON))]],
            "usage": AnthropicResponse.openAIUsage(u),
        ]
        return (out, u)
    }
}

/// Turns ConverseStream events (the `:event-type` and JSON payload of each frame) into OpenAI
/// `chat.completion.chunk`s, one event at a time.
struct BedrockStreamTranslator: Sendable {
    let id: String
    let model: String
    let created: Int
    var usage = Usage()
    /// Converse content-block index → OpenAI tool-call index (the forced-JSON block maps to text).
    var toolIndex: [Int: Int] = [:]
    var jsonBlocks: Set<Int> = []
    var forcedJSON = false
    /// `messageStop` arrived: the answer is whole (`metadata` with usage follows it).
    var stopped = false
    /// `metadata` arrived.
    var sawMetadata = false

    init(id: String, model: String, created: Int) {
        self.id = id
        self.model = model
        self.created = created
    }

    func chunk(_ delta: JSONObject, finish: String? = nil) -> JSONObject {
        [
            "id": .string(id), "object": "chat.completion.chunk", "created": .int(created), "model": .string(model),
            "choices": [["index": 0, "delta": .object(delta), "logprobs": nil, "finish_reason": finish.map(JSON.string) ?? .null]],
        ]
    }

    /// The usage-only chunk that ends the stream.
    func usageChunk() -> JSONObject {
        var last = chunk([:])
        last["choices"] = []
        last["usage"] = AnthropicResponse.openAIUsage(usage)
        return last
    }

    /// The chunks for one event; unknown events translate to none.
    mutating func translate(_ type: String, _ event: JSONObject) -> [JSONObject] {
        switch type {
        case "messageStart":
            return [chunk(["role": "assistant", "content": ""])]
        case "contentBlockStart":
            let index = event["contentBlockIndex"]?.intValue ?? 0
            guard let use = event["start"]?["toolUse"] else { return [] }
            if use["name"]?.stringValue == BedrockRequest.jsonToolName {
                jsonBlocks.insert(index)
                forcedJSON = true
                return []
            }
            let n = toolIndex.count
            toolIndex[index] = n
            let call: JSON = [
                "index": .int(n), "id": use["toolUseId"] ?? "", "type": "function",
                "function": ["name": use["name"] ?? "", "arguments": ""],
            ]
            return [chunk(["tool_calls": [call]])]
        case "contentBlockDelta":
            let index = event["contentBlockIndex"]?.intValue ?? 0
            let delta = event["delta"]
            if let text = delta?["text"]?.stringValue { return [chunk(["content": .string(text)])] }
            if let part = delta?["toolUse"]?["input"]?.stringValue {
                if jsonBlocks.contains(index) { return [chunk(["content": .string(part)])] }
                guard let n = toolIndex[index] else { return [] }
                return [chunk(["tool_calls": [["index": .int(n), "function": ["arguments": .string(part)]]]])]
            }
            if let reasoning = delta?["reasoningContent"]?["text"]?.stringValue {
                return [chunk(["reasoning_content": .string(reasoning)])]
            }
            return []
        case "messageStop":
            stopped = true
            return [chunk([:], finish: BedrockResponse.finishReason(event["stopReason"]?.stringValue, forcedJSON: forcedJSON))]
        case "metadata":
            sawMetadata = true
            usage = BedrockResponse.usage(event["usage"])
            return []
        default:
            return []  // contentBlockStop and events this version does not know
        }
    }
}
