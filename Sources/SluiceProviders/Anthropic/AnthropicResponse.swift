import Foundation
import SluiceCore

/// Translates Anthropic Messages answers (whole and streamed) into OpenAI chat shapes.
enum AnthropicResponse {
    /// Anthropic `stop_reason` → OpenAI `finish_reason`.
    static func finishReason(_ stop: String?, forcedJSON: Bool) -> String {
        switch stop {
        case "max_tokens": "length"
        case "tool_use": forcedJSON ? "stop" : "tool_calls"
        case "refusal": "content_filter"
        default: "stop"
        }
    }

    /// Anthropic `usage` as Sluice counts it: input includes cache reads and writes.
    static func usage(_ u: JSON?) -> Usage {
        let read = u?["cache_read_input_tokens"]?.intValue ?? 0
        let write = u?["cache_creation_input_tokens"]?.intValue ?? 0
        return Usage(
            inputTokens: (u?["input_tokens"]?.intValue ?? 0) + read + write, outputTokens: u?["output_tokens"]?.intValue ?? 0,
            cachedTokens: read, cacheWriteTokens: write)
    }

    /// The OpenAI `usage` object for `u`.
    static func openAIUsage(_ u: Usage) -> JSON {
        [
            "prompt_tokens": .int(u.inputTokens), "completion_tokens": .int(u.outputTokens),
            "total_tokens": .int(u.inputTokens + u.outputTokens),
            "prompt_tokens_details": ["cached_tokens": .int(u.cachedTokens)],
        ]
    }

    /// A `chat.completion` for an Anthropic message. A forced JSON tool's input becomes the text.
    static func completion(_ m: JSONObject, created: Int) -> (JSONObject, Usage) {
        var text = ""
        var calls: [JSON] = []
        var forcedJSON = false
        for block in m["content"]?.arrayValue ?? [] {
            switch block["type"]?.stringValue {
            case "text": text += block["text"]?.stringValue ?? ""
            case "tool_use":
                let input = block["input"] ?? .object([:])
                if block["name"]?.stringValue == AnthropicRequest.jsonToolName {
                    forcedJSON = true
                    text += input.jsonString
                } else {
                    calls.append([
                        "id": block["id"] ?? "", "type": "function",
                        "function": ["name": block["name"] ?? "", "arguments": .string(input.jsonString)],
                    ])
                }
            default: break
            }
        }
        let stop = m["stop_reason"]?.stringValue
        var message: JSONObject = ["role": "assistant", "content": text.isEmpty && !calls.isEmpty ? .null : .string(text)]
        message["refusal"] = stop == "refusal" ? .string(text.isEmpty ? "refused" : text) : .null
        if !calls.isEmpty { message["tool_calls"] = .array(calls) }
        let u = usage(m["usage"])
        let out: JSONObject = [
            "id": .string("chatcmpl-" + (m["id"]?.stringValue ?? "anthropic")), "object": "chat.completion",
            "created": .int(created), "model": m["model"] ?? "",
            "choices": [["index": 0, "message": .object(message), "logprobs": nil,
                         "finish_reason": .string(finishReason(stop, forcedJSON: forcedJSON))]],
            "usage": openAIUsage(u),
        ]
        return (out, u)
    }
}

/// Turns Anthropic stream events into OpenAI `chat.completion.chunk`s, one event at a time.
struct AnthropicStreamTranslator: Sendable {
    var id = "chatcmpl-anthropic"
    var model = ""
    let created: Int
    var usage = Usage()
    /// Anthropic content-block index → OpenAI tool-call index (forced-JSON blocks map to text).
    var toolIndex: [Int: Int] = [:]
    var jsonBlocks: Set<Int> = []
    var forcedJSON = false
    var finished = false

    init(created: Int) { self.created = created }

    func chunk(_ delta: JSONObject, finish: String? = nil) -> JSONObject {
        [
            "id": .string(id), "object": "chat.completion.chunk", "created": .int(created), "model": .string(model),
            "choices": [["index": 0, "delta": .object(delta), "logprobs": nil, "finish_reason": finish.map(JSON.string) ?? .null]],
        ]
    }

    /// The chunks for one event; `done` after `message_stop`. An `error` event throws.
    mutating func translate(_ event: JSONObject) throws(ProviderError) -> (chunks: [JSONObject], done: Bool) {
        switch event["type"]?.stringValue {
        case "message_start":
            let m = event["message"]
            id = "chatcmpl-" + (m?["id"]?.stringValue ?? "anthropic")
            model = m?["model"]?.stringValue ?? ""
            usage = AnthropicResponse.usage(m?["usage"])
            return ([chunk(["role": "assistant", "content": ""])], false)
        case "content_block_start":
            let index = event["index"]?.intValue ?? 0
            let block = event["content_block"]
            guard block?["type"]?.stringValue == "tool_use" else { return ([], false) }
            if block?["name"]?.stringValue == AnthropicRequest.jsonToolName {
                jsonBlocks.insert(index)
                forcedJSON = true
                return ([], false)
            }
            let n = toolIndex.count
            toolIndex[index] = n
            let call: JSON = [
                "index": .int(n), "id": block?["id"] ?? "", "type": "function",
                "function": ["name": block?["name"] ?? "", "arguments": ""],
            ]
            return ([chunk(["tool_calls": [call]])], false)
        case "content_block_delta":
            let index = event["index"]?.intValue ?? 0
            let delta = event["delta"]
            switch delta?["type"]?.stringValue {
            case "text_delta":
                return ([chunk(["content": delta?["text"] ?? ""])], false)
            case "input_json_delta":
                let part = delta?["partial_json"] ?? ""
                if jsonBlocks.contains(index) { return ([chunk(["content": part])], false) }
                guard let n = toolIndex[index] else { return ([], false) }
                return ([chunk(["tool_calls": [["index": .int(n), "function": ["arguments": part]]]])], false)
            default:
                return ([], false)
            }
        case "message_delta":
            // Counts on message_delta are cumulative; the optional ones keep message_start's when absent.
            let u = event["usage"]
            if let out = u?["output_tokens"]?.intValue { usage.outputTokens = out }
            if u?["input_tokens"]?.intValue != nil || u?["cache_read_input_tokens"]?.intValue != nil
                || u?["cache_creation_input_tokens"]?.intValue != nil
            {
                let read = u?["cache_read_input_tokens"]?.intValue ?? usage.cachedTokens
                let write = u?["cache_creation_input_tokens"]?.intValue ?? usage.cacheWriteTokens
                let fresh = u?["input_tokens"]?.intValue ?? (usage.inputTokens - usage.cachedTokens - usage.cacheWriteTokens)
                usage.inputTokens = fresh + read + write
                usage.cachedTokens = read
                usage.cacheWriteTokens = write
            }
            let stop = event["delta"]?["stop_reason"]?.stringValue
            finished = true
            return ([chunk([:], finish: AnthropicResponse.finishReason(stop, forcedJSON: forcedJSON))], false)
        case "message_stop":
            var last = chunk([:])
            last["choices"] = []
            last["usage"] = AnthropicResponse.openAIUsage(usage)
            return ([last], true)
        case "error":
            throw ProviderError(
                event["error"]?["type"]?.stringValue == "overloaded_error" ? .http : .connection,
                status: event["error"]?["type"]?.stringValue == "overloaded_error" ? 529 : nil,
                message: event["error"]?["message"]?.stringValue ?? "upstream sent an error event")
        default:
            return ([], false)  // ping, content_block_stop
        }
    }
}
