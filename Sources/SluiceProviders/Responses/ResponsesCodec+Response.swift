import SluiceCore

/// Answers: a chat completion as a Responses object, and a Responses object as a chat completion.
extension ResponsesCodec {
    /// One function call of an answer.
    struct Call: Sendable, Equatable {
        var callID: String
        var name: String
        var arguments: String
    }

    /// The Responses object for a chat `completion` answering `request`: a `message` item
    /// (`output_text`, or a `refusal` part) and one `function_call` item per tool call;
    /// `status` is `incomplete` (with `incomplete_details.reason`) when the answer stopped
    /// at its token limit (`finish_reason: length`) or a content filter. `usage` replaces
    /// the completion's own (an estimate for an upstream that reported none); reasoning
    /// tokens are read from the completion. Item ids are made from `id`.
    public static func response(
        fromChat completion: JSONObject, id: String, createdAt: Int, request: ResponsesRequest, usage: Usage? = nil
    ) -> JSONObject {
        let choice = completion["choices"]?.arrayValue?.first
        let message = choice?["message"]
        let finish = choice?["finish_reason"]?.stringValue
        let incomplete = incompleteReason(finish)
        let calls = (message?["tool_calls"]?.arrayValue ?? []).enumerated().map { n, call in
            Call(
                callID: call["id"]?.stringValue ?? "call_\(idTail(id))_\(n)", name: call["function"]?["name"]?.stringValue ?? "",
                arguments: call["function"]?["arguments"]?.stringValue ?? "")
        }
        let text = ChatText.content(message?["content"])
        let refusal = message?["refusal"]?.stringValue
        var output: [JSON] = []
        if !text.isEmpty || refusal != nil || calls.isEmpty {
            output.append(
                messageItem(id: messageID(id, 0), text: text, refusal: refusal, status: incomplete == nil ? "completed" : "incomplete"))
        }
        for (n, call) in calls.enumerated() { output.append(functionCallItem(id: callItemID(id, n), call, status: "completed")) }
        let reasoning = completion["usage"]?["completion_tokens_details"]?["reasoning_tokens"]?.intValue ?? 0
        let counted = usage ?? Usage(openAI: completion["usage"])
        return responseObject(
            id: id, createdAt: createdAt, model: completion["model"]?.stringValue ?? request.model, request: request,
            status: incomplete == nil ? "completed" : "incomplete", output: output,
            usage: counted.map { usageJSON($0, reasoningTokens: reasoning) } ?? .null, incompleteReason: incomplete)
    }

    /// The `incomplete_details.reason` for a chat `finish_reason`; `nil` for a complete answer.
    static func incompleteReason(_ finish: String?) -> String? {
        switch finish {
        case "length": "max_output_tokens"
        case "content_filter": "content_filter"
        default: nil
        }
    }

    /// The id of the `index`th message item of response `responseID` (`msg_…`).
    static func messageID(_ responseID: String, _ index: Int) -> String {
        index == 0 ? "msg_\(idTail(responseID))" : "msg_\(idTail(responseID))_\(index)"
    }

    /// The id of the function call item for tool call `index` of response `responseID` (`fc_…`).
    static func callItemID(_ responseID: String, _ index: Int) -> String { "fc_\(idTail(responseID))_\(index)" }

    /// An assistant `message` output item.
    static func messageItem(id: String, text: String?, refusal: String?, status: String) -> JSON {
        var content: [JSON] = []
        if let text, !text.isEmpty || refusal == nil { content.append(outputTextPart(text)) }
        if let refusal { content.append(["type": "refusal", "refusal": .string(refusal)]) }
        return ["id": .string(id), "type": "message", "status": .string(status), "role": "assistant", "content": .array(content)]
    }

    /// An `output_text` content part.
    static func outputTextPart(_ text: String) -> JSON { ["type": "output_text", "text": .string(text), "annotations": []] }

    /// A `function_call` output item.
    static func functionCallItem(id: String, _ call: Call, status: String) -> JSON {
        [
            "id": .string(id), "type": "function_call", "status": .string(status), "arguments": .string(call.arguments),
            "call_id": .string(call.callID), "name": .string(call.name),
        ]
    }

    /// A Responses object with the request's settings echoed: `status` (`in_progress`,
    /// `completed`, `incomplete` with `incompleteReason`, `failed` with `error`), `output`
    /// and `usage` (`null` until known). Every member the SDKs' `Response` requires is present.
    public static func responseObject(
        id: String, createdAt: Int, model: String, request: ResponsesRequest, status: String, output: [JSON],
        usage: JSON = .null, error: JSON = .null, incompleteReason: String? = nil
    ) -> JSONObject {
        var r: JSONObject = [
            "id": .string(id), "object": "response", "created_at": .int(createdAt), "status": .string(status),
            "background": .bool(request.background), "error": error,
            "incomplete_details": incompleteReason.map { ["reason": .string($0)] } ?? .null,
            "instructions": request.instructions.map(JSON.string) ?? .null,
            "max_output_tokens": request.maxOutputTokens.map(JSON.int) ?? .null, "model": .string(model),
            "output": .array(output), "parallel_tool_calls": .bool(request.parallelToolCalls ?? true),
            "previous_response_id": request.previousResponseID.map(JSON.string) ?? .null,
            "reasoning": request.reasoning.map(JSON.object) ?? ["effort": nil, "summary": nil],
            "store": .bool(request.store), "temperature": request.temperature ?? .null,
            "text": request.text.map(JSON.object) ?? ["format": ["type": "text"]],
            "tool_choice": request.toolChoice ?? "auto", "tools": .array(request.tools), "top_p": request.topP ?? .null,
            "truncation": ResponsesRequest.value(request.body, "truncation") ?? "disabled", "usage": usage,
            "user": request.user.map(JSON.string) ?? .null, "metadata": .object(request.clientMetadata),
        ]
        if request.text?["format"] == nil, var text = request.text {
            text["format"] = ["type": "text"]
            r["text"] = .object(text)
        }
        return r
    }

    /// The Responses `usage` object.
    public static func usageJSON(_ u: Usage, reasoningTokens: Int = 0) -> JSON {
        [
            "input_tokens": .int(u.inputTokens),
            "input_tokens_details": ["cached_tokens": .int(u.cachedTokens), "cache_write_tokens": .int(u.cacheWriteTokens)],
            "output_tokens": .int(u.outputTokens), "output_tokens_details": ["reasoning_tokens": .int(reasoningTokens)],
            "total_tokens": .int(u.inputTokens + u.outputTokens),
        ]
    }

    /// The `error` member of a failed response for a Sluice error. `code` is one the SDKs
    /// know (`rate_limit_exceeded` for a 429, `invalid_prompt` for a 4xx, else `server_error`);
    /// `type` is the OpenAI error type and `message` Sluice's own.
    public static func errorObject(_ e: SluiceError) -> JSON {
        let code: String
        switch e.code.status {
        case 429: code = "rate_limit_exceeded"
        case 400..<500: code = "invalid_prompt"
        default: code = "server_error"
        }
        var err: JSONObject = ["code": .string(code), "message": .string(e.message), "type": .string(e.code.type)]
        if let param = e.param { err["param"] = .string(param) }
        return .object(err)
    }

    // MARK: Responses → chat

    /// A `chat.completion` for a Responses object from an upstream, and its usage: the
    /// output text of its `message` items (refusals as `refusal`), its `function_call` items
    /// as tool calls, `finish_reason` from its status (`length` for `max_output_tokens`),
    /// and usage with cached and reasoning tokens. Built-in tool items have no chat form
    /// and are left out.
    public static func chatCompletion(fromResponse r: JSONObject) -> (completion: JSONObject, usage: Usage?) {
        var text = ""
        var refusal: String?
        var calls: [JSON] = []
        for item in r["output"]?.arrayValue ?? [] {
            switch item["type"]?.stringValue {
            case "message":
                for part in item["content"]?.arrayValue ?? [] {
                    if part["type"]?.stringValue == "output_text" { text += part["text"]?.stringValue ?? "" }
                    if part["type"]?.stringValue == "refusal" { refusal = (refusal ?? "") + (part["refusal"]?.stringValue ?? "") }
                }
            case "function_call":
                calls.append([
                    "id": item["call_id"] ?? "", "type": "function",
                    "function": ["name": item["name"] ?? "", "arguments": item["arguments"] ?? ""],
                ])
            default: break
            }
        }
        var message: JSONObject = ["role": "assistant", "content": text.isEmpty && !calls.isEmpty ? .null : .string(text)]
        message["refusal"] = refusal.map(JSON.string) ?? .null
        if !calls.isEmpty { message["tool_calls"] = .array(calls) }
        let finish = finishReason(status: r["status"]?.stringValue, reason: r["incomplete_details"]?["reason"]?.stringValue, calls: !calls.isEmpty)
        let usage = self.usage(r["usage"])
        var out: JSONObject = [
            "id": r["id"] ?? "", "object": "chat.completion", "created": .int(r["created_at"]?.intValue ?? 0), "model": r["model"] ?? "",
            "choices": [["index": 0, "message": .object(message), "logprobs": nil, "finish_reason": .string(finish)]],
        ]
        if let usage { out["usage"] = chatUsage(usage, reasoningTokens: r["usage"]?["output_tokens_details"]?["reasoning_tokens"]?.intValue) }
        return (out, usage)
    }

    /// The chat `finish_reason` for a response's status.
    static func finishReason(status: String?, reason: String?, calls: Bool) -> String {
        if status == "incomplete" { return reason == "content_filter" ? "content_filter" : "length" }
        return calls ? "tool_calls" : "stop"
    }

    /// Usage from a Responses `usage` object (`input_tokens` includes the cached and cache-written ones).
    static func usage(_ u: JSON?) -> Usage? {
        guard let u = u?.objectValue else { return nil }
        return Usage(
            inputTokens: u["input_tokens"]?.intValue ?? 0, outputTokens: u["output_tokens"]?.intValue ?? 0,
            cachedTokens: u["input_tokens_details"]?["cached_tokens"]?.intValue ?? 0,
            cacheWriteTokens: u["input_tokens_details"]?["cache_write_tokens"]?.intValue ?? 0)
    }

    /// The chat `usage` object, with `completion_tokens_details.reasoning_tokens` when known.
    static func chatUsage(_ u: Usage, reasoningTokens: Int?) -> JSON {
        guard case .object(var obj) = u.openAIJSON else { return u.openAIJSON }
        if let reasoningTokens { obj["completion_tokens_details"] = ["reasoning_tokens": .int(reasoningTokens)] }
        return .object(obj)
    }
}
