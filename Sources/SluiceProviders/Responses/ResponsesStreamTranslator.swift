import SluiceCore

/// Turns the Responses API's stream events from an upstream into OpenAI
/// `chat.completion.chunk`s, one event at a time, for the gateway's policies: text and
/// refusal deltas, function calls as tool-call deltas, and at `response.completed` (or
/// `response.incomplete`) a chunk with the finish reason and a usage-only chunk.
/// `response.failed` and `error` events throw. A value type with no I/O.
struct ResponsesStreamTranslator: Sendable {
    var id = "resp"
    var model = ""
    var created: Int
    /// Output index of a function call item → its chat tool-call index.
    var toolIndex: [Int: Int] = [:]
    /// Chat tool-call indexes whose arguments came as deltas.
    var argumentsSent: Set<Int> = []
    var usage: Usage?

    init(created: Int) { self.created = created }

    func chunk(_ delta: JSONObject, finish: String? = nil) -> JSONObject {
        [
            "id": .string(id), "object": "chat.completion.chunk", "created": .int(created), "model": .string(model),
            "choices": [["index": 0, "delta": .object(delta), "logprobs": nil, "finish_reason": finish.map(JSON.string) ?? .null]],
        ]
    }

    mutating func adopt(_ response: JSON?) {
        if let v = response?["id"]?.stringValue { id = v }
        if let v = response?["model"]?.stringValue { model = v }
        if let v = response?["created_at"]?.intValue { created = v }
    }

    /// The chunks for one event; `done` after the terminal event. A failure event throws.
    mutating func translate(_ event: JSONObject) throws(ProviderError) -> (chunks: [JSONObject], done: Bool) {
        switch event["type"]?.stringValue {
        case "response.created":
            adopt(event["response"])
            return ([chunk(["role": "assistant", "content": ""])], false)
        case "response.in_progress", "response.queued":
            adopt(event["response"])
            return ([], false)
        case "response.output_item.added":
            let item = event["item"]
            guard item?["type"]?.stringValue == "function_call" else { return ([], false) }
            let n = toolIndex.count
            toolIndex[event["output_index"]?.intValue ?? n] = n
            let args = item?["arguments"]?.stringValue ?? ""
            if !args.isEmpty { argumentsSent.insert(n) }
            let call: JSON = [
                "index": .int(n), "id": item?["call_id"] ?? "", "type": "function",
                "function": ["name": item?["name"] ?? "", "arguments": .string(args)],
            ]
            return ([chunk(["tool_calls": [call]])], false)
        case "response.function_call_arguments.delta", "response.function_call_arguments.done":
            let isDone = event["type"]?.stringValue == "response.function_call_arguments.done"
            guard let n = toolIndex[event["output_index"]?.intValue ?? -1] else { return ([], false) }
            // A `.done` only matters to a stream that sent no deltas for the call.
            if isDone && argumentsSent.contains(n) { return ([], false) }
            let args = (isDone ? event["arguments"] : event["delta"])?.stringValue ?? ""
            guard !args.isEmpty else { return ([], false) }
            argumentsSent.insert(n)
            return ([chunk(["tool_calls": [["index": .int(n), "function": ["arguments": .string(args)]]]])], false)
        case "response.output_text.delta":
            return ([chunk(["content": event["delta"] ?? ""])], false)
        case "response.refusal.delta":
            return ([chunk(["refusal": event["delta"] ?? ""])], false)
        case "response.completed", "response.incomplete":
            let response = event["response"]
            adopt(response)
            let calls = !toolIndex.isEmpty || (response?["output"]?.arrayValue ?? []).contains { $0["type"]?.stringValue == "function_call" }
            let finish = ResponsesCodec.finishReason(
                status: response?["status"]?.stringValue ?? (event["type"]?.stringValue == "response.incomplete" ? "incomplete" : "completed"),
                reason: response?["incomplete_details"]?["reason"]?.stringValue, calls: calls)
            var chunks = [chunk([:], finish: finish)]
            if let u = ResponsesCodec.usage(response?["usage"]) {
                usage = u
                var last = chunk([:])
                last["choices"] = []
                last["usage"] = ResponsesCodec.chatUsage(
                    u, reasoningTokens: response?["usage"]?["output_tokens_details"]?["reasoning_tokens"]?.intValue)
                chunks.append(last)
            }
            return (chunks, true)
        case "response.failed":
            let error = event["response"]?["error"]
            throw Self.failure(code: error?["code"]?.stringValue, message: error?["message"]?.stringValue ?? "upstream response failed")
        case "error":
            let error = event["error"] ?? .object(event)
            throw Self.failure(code: error["code"]?.stringValue, message: error["message"]?.stringValue ?? "upstream sent an error event")
        default:
            return ([], false)  // content parts, item and text `done` events, reasoning and built-in tool progress
        }
    }

    /// The provider error for a failed stream: a rate limit is a 429, a server error a broken
    /// connection (both worth another attempt), anything else about the request a 400.
    static func failure(code: String?, message: String) -> ProviderError {
        switch code {
        case "rate_limit_exceeded": ProviderError(.http, status: 429, message: message)
        case nil, "server_error", "internal_error", "vector_store_timeout": ProviderError(.connection, message: message)
        default: ProviderError(.http, status: 400, message: message)
        }
    }
}
