import SluiceCore

/// The pure translations between OpenAI's Responses API and the chat-completions shape
/// Sluice's policies read and every provider takes: requests (``chatBody(_:history:)``),
/// input items as stored (``normalizedInput(_:responseID:)``), answers
/// (``response(fromChat:id:createdAt:request:usage:)``, ``chatCompletion(fromResponse:)``)
/// and, in ``ResponsesEventWriter`` and ``ResponsesStreamTranslator``, stream events.
public enum ResponsesCodec {
    /// A Responses request in chat-completions shape.
    public struct ChatBody: Sendable {
        /// The neutral chat-completions body (`model`, `messages`, `tools`…), metadata kept.
        public var body: JSONObject
        /// How many `reasoning` items (earlier turns' and this turn's) were left out.
        public var droppedReasoning: Int
        /// Items of earlier turns that have no chat form (`web_search_call`…), by type, left out.
        public var droppedItems: [String]
    }

    /// The chat-completions body for `request`: `instructions` as the first (system)
    /// message, then `history` (the items of earlier turns, oldest first: each turn's input
    /// items, then its output items) and this turn's input items as messages. Consecutive
    /// `function_call` items become one assistant message with `tool_calls` (joining the
    /// assistant text right before them); `function_call_output` items become `tool`
    /// messages; `reasoning` items are left out and counted. Function tools, `tool_choice`,
    /// `text.format` (as `response_format`), `max_output_tokens` (as `max_tokens`),
    /// `reasoning.effort` (as `reasoning_effort`), sampling parameters, `user`, `metadata`
    /// (Sluice reads its `x-sluice-*` keys there) and `stream` are carried over.
    public static func chatBody(_ request: ResponsesRequest, history: [JSON] = []) -> ChatBody {
        var out: JSONObject = ["model": .string(request.model)]
        var messages: [JSON] = []
        if let instructions = request.instructions { messages.append(["role": "system", "content": .string(instructions)]) }
        var reasoning = 0
        var dropped: [String] = []
        for item in history + request.input {
            switch ResponsesRequest.itemType(item) {
            case "message": messages += message(item)
            case "function_call": appendCall(item, to: &messages)
            case "function_call_output":
                messages.append([
                    "role": "tool", "tool_call_id": item["call_id"] ?? "", "content": .string(outputText(item["output"])),
                ])
            case "reasoning": reasoning += 1
            case let type: dropped.append(type ?? "?")
            }
        }
        out["messages"] = .array(messages)

        let functions = request.tools.filter { $0["type"]?.stringValue == "function" }.map(chatTool)
        if !functions.isEmpty {
            out["tools"] = .array(functions)
            if let choice = request.toolChoice.flatMap(chatToolChoice) { out["tool_choice"] = choice }
            if let parallel = request.parallelToolCalls { out["parallel_tool_calls"] = .bool(parallel) }
        }
        if let format = request.text?["format"]?.objectValue, let responseFormat = responseFormat(format) {
            out["response_format"] = responseFormat
        }
        if let max = request.maxOutputTokens { out["max_tokens"] = .int(max) }
        if let t = request.temperature { out["temperature"] = t }
        if let p = request.topP { out["top_p"] = p }
        if let effort = request.reasoning?["effort"]?.stringValue { out["reasoning_effort"] = .string(effort) }
        if let user = request.user { out["user"] = .string(user) }
        if let meta = request.metadata, meta.count > 0 { out["metadata"] = .object(meta) }
        if request.stream {
            out["stream"] = true
            out["stream_options"] = ["include_usage": true]
        }
        return ChatBody(body: out, droppedReasoning: reasoning, droppedItems: dropped)
    }

    /// One `message` item as chat messages (none for a message with nothing to say).
    static func message(_ item: JSON) -> [JSON] {
        let role = item["role"]?.stringValue ?? "user"
        if let text = item["content"]?.stringValue { return [["role": .string(role), "content": .string(text)]] }
        let parts = item["content"]?.arrayValue ?? []
        if role == "assistant" {
            let text = parts.filter { $0["type"]?.stringValue != "refusal" }.compactMap { $0["text"]?.stringValue }.joined()
            let refusal = parts.compactMap { $0["refusal"]?.stringValue }.joined()
            var msg: JSONObject = ["role": "assistant", "content": .string(text)]
            if !refusal.isEmpty { msg["refusal"] = .string(refusal) }
            return [.object(msg)]
        }
        var chatParts: [JSON] = []
        for part in parts {
            switch part["type"]?.stringValue {
            case "input_text", "output_text":
                chatParts.append(["type": "text", "text": part["text"] ?? ""])
            case "input_image":
                guard let url = part["image_url"]?.stringValue else { continue }
                var image: JSONObject = ["url": .string(url)]
                if let detail = part["detail"]?.stringValue, ["low", "high", "auto"].contains(detail) {
                    image["detail"] = .string(detail)
                }
                chatParts.append(["type": "image_url", "image_url": .object(image)])
            default:
                continue  // input_file, input_audio: native-only, listed when the request was read
            }
        }
        let texts = chatParts.compactMap { $0["type"]?.stringValue == "text" ? $0["text"]?.stringValue : nil }
        if texts.count == chatParts.count, role != "user" || texts.count <= 1 {
            return [["role": .string(role), "content": .string(texts.joined(separator: "\n"))]]
        }
        return [["role": .string(role), "content": .array(chatParts)]]
    }

    /// Adds a `function_call` item as a tool call of the assistant message before it, or of a new one.
    static func appendCall(_ item: JSON, to messages: inout [JSON]) {
        let call: JSON = [
            "id": item["call_id"] ?? "", "type": "function",
            "function": ["name": item["name"] ?? "", "arguments": item["arguments"] ?? "{}"],
        ]
        if var last = messages.last?.objectValue, last["role"]?.stringValue == "assistant" {
            last["tool_calls"] = .array((last["tool_calls"]?.arrayValue ?? []) + [call])
            if last["content"]?.stringValue == "" { last["content"] = .null }
            messages[messages.count - 1] = .object(last)
        } else {
            messages.append(["role": "assistant", "content": nil, "tool_calls": [call]])
        }
    }

    /// A `function_call_output`'s output as text (the text parts of an array joined).
    static func outputText(_ output: JSON?) -> String {
        if let s = output?.stringValue { return s }
        return (output?.arrayValue ?? []).compactMap { $0["type"]?.stringValue == "input_text" ? $0["text"]?.stringValue : nil }.joined()
    }

    /// A Responses function tool as a chat tool.
    static func chatTool(_ tool: JSON) -> JSON {
        var f: JSONObject = ["name": tool["name"] ?? ""]
        for key in ["description", "parameters", "strict"] {
            if let v = tool[key], !v.isNull { f[key] = v }
        }
        return ["type": "function", "function": .object(f)]
    }

    /// A Responses `tool_choice` as chat's; `nil` for choices only the Responses API has.
    static func chatToolChoice(_ choice: JSON) -> JSON? {
        if let s = choice.stringValue { return .string(s) }
        guard choice["type"]?.stringValue == "function", let name = choice["name"]?.stringValue else { return nil }
        return ["type": "function", "function": ["name": .string(name)]]
    }

    /// `text.format` as chat's `response_format`; `nil` for plain text.
    static func responseFormat(_ format: JSONObject) -> JSON? {
        switch format["type"]?.stringValue {
        case "json_object": return ["type": "json_object"]
        case "json_schema":
            var schema: JSONObject = ["name": format["name"] ?? "response", "schema": format["schema"] ?? [:]]
            if let d = format["description"], !d.isNull { schema["description"] = d }
            if let s = format["strict"], !s.isNull { schema["strict"] = s }
            return ["type": "json_schema", "json_schema": .object(schema)]
        default: return nil
        }
    }

    // MARK: Input items as stored

    /// This turn's input as items in the shape `GET /v1/responses/{id}/input_items`
    /// returns: every item has an `id` (one it lacks is `msg_…`/`fc_…`/`fco_…`/`rs_…`
    /// made from `responseID` and its position, so the same request gets the same ids),
    /// a message's content is a list of parts (`input_text`, or `output_text` for the
    /// assistant), and calls and outputs have a `status`.
    public static func normalizedInput(_ request: ResponsesRequest, responseID: String) -> [JSON] {
        request.input.enumerated().map { i, item in normalizedItem(item, id: itemID(for: item, responseID: responseID, index: i)) }
    }

    /// The id an item gets when it has none: the type's prefix, the response id's tail and the position.
    static func itemID(for item: JSON, responseID: String, index: Int) -> String {
        let prefix: String
        switch ResponsesRequest.itemType(item) {
        case "message": prefix = "msg"
        case "function_call": prefix = "fc"
        case "function_call_output": prefix = "fco"
        case "reasoning": prefix = "rs"
        default: prefix = "item"
        }
        return "\(prefix)_\(idTail(responseID))_in\(index)"
    }

    /// `resp_ABC` → `ABC`: the part of a response id its items' ids reuse.
    static func idTail(_ responseID: String) -> String {
        responseID.hasPrefix("resp_") ? String(responseID.dropFirst(5)) : responseID
    }

    static func normalizedItem(_ item: JSON, id: String) -> JSON {
        guard var obj = item.objectValue else { return item }
        let type = ResponsesRequest.itemType(item) ?? "message"
        var out: JSONObject = ["id": ResponsesRequest.value(obj, "id") ?? .string(id), "type": .string(type)]
        obj.removeValue(forKey: "id")
        obj.removeValue(forKey: "type")
        if type == "message" {
            let role = obj["role"]?.stringValue ?? "user"
            if let text = obj["content"]?.stringValue {
                obj["content"] =
                    role == "assistant"
                    ? [["type": "output_text", "text": .string(text), "annotations": []]]
                    : [["type": "input_text", "text": .string(text)]]
            } else if let parts = obj["content"]?.arrayValue {
                obj["content"] = .array(parts.map(normalizedPart))
            }
        }
        if ["message", "function_call", "function_call_output"].contains(type), obj["status"] == nil || obj["status"]?.isNull == true {
            obj["status"] = "completed"
        }
        out.merge(obj)
        return .object(out)
    }

    static func normalizedPart(_ part: JSON) -> JSON {
        guard var p = part.objectValue else { return part }
        switch p["type"]?.stringValue {
        case "input_image" where p["detail"] == nil || p["detail"]?.isNull == true: p["detail"] = "auto"
        case "output_text" where p["annotations"] == nil: p["annotations"] = []
        default: break
        }
        return .object(p)
    }

    // MARK: Native upstream

    /// The body sent to an upstream that serves the Responses API, for the client's native
    /// `body` (whose `input` already holds the whole conversation: Sluice keeps the state):
    /// `model` set, `previous_response_id` and `background` removed, `store: false`, `stream`
    /// as asked (`stream_options` only with it). In `input`, `reasoning` items without
    /// `encrypted_content` are left out (an upstream that stores nothing cannot resolve
    /// them) and messages, function calls and their outputs lose their `id` (an upstream that stores nothing resolves none,
    /// and a message id without its reasoning item is refused).
    public static func upstreamBody(_ body: JSONObject, model: String, stream: Bool) -> JSONObject {
        var out = body
        out["model"] = .string(model)
        out.removeValue(forKey: "previous_response_id")
        out.removeValue(forKey: "background")
        out["store"] = false
        if stream {
            out["stream"] = true
        } else {
            out.removeValue(forKey: "stream")
            out.removeValue(forKey: "stream_options")
        }
        if let items = body["input"]?.arrayValue {
            out["input"] = .array(
                items.compactMap { item -> JSON? in
                    guard var obj = item.objectValue else { return item }
                    let type = ResponsesRequest.itemType(item)
                    if type == "reasoning" {
                        // (`JSON` is nil-literal-expressible: say `Optional.none`, or `nil` becomes `null`.)
                        return ResponsesRequest.value(obj, "encrypted_content") == nil ? Optional<JSON>.none : item
                    }
                    guard ["message", "function_call", "function_call_output"].contains(type), obj.removeValue(forKey: "id") != nil
                    else { return item }
                    return .object(obj)
                })
        }
        return out
    }
}
