import Foundation
import SluiceCore

/// Translates Anthropic Messages requests (the `/v1/messages` route) into the
/// OpenAI chat shape Sluice routes, and OpenAI answers back into Anthropic
/// messages. What cannot be translated is a 400 naming the field.
public enum AnthropicInbound {
    static let known: Set<String> = [
        "model", "messages", "system", "max_tokens", "temperature", "top_p", "stop_sequences", "stream", "tools",
        "tool_choice", "metadata",
    ]

    static func refuse(_ field: String, _ why: String) -> SluiceError {
        .invalidRequest("'\(field)' cannot be translated: \(why)", param: field)
    }

    /// The OpenAI chat body for an Anthropic Messages body. Sluice keys in
    /// `metadata` (`x-sluice-*`) are kept; `metadata.user_id` becomes `user`.
    public static func toOpenAI(_ json: JSON) throws(SluiceError) -> JSONObject {
        guard let body = json.objectValue else {
            throw .invalidRequest("The request body must be a JSON object, got \(json.typeName).")
        }
        for key in body.keys where !known.contains(key) && body[key]?.isNull == false {
            throw refuse(key, "Sluice routes Messages requests to any provider through the OpenAI chat shape, which has no '\(key)'")
        }
        guard let model = body["model"]?.stringValue, !model.isEmpty else {
            throw .invalidRequest("'model' must be a non-empty string.", param: "model")
        }
        guard let maxTokens = body["max_tokens"]?.intValue, maxTokens > 0 else {
            throw .invalidRequest("'max_tokens' is required and must be a positive integer.", param: "max_tokens")
        }
        guard let messages = body["messages"]?.arrayValue, !messages.isEmpty else {
            throw .invalidRequest("'messages' must be a non-empty array.", param: "messages")
        }
        var out: JSONObject = ["model": .string(model), "max_tokens": .int(maxTokens)]
        var chat: [JSON] = []
        if let system = body["system"], !system.isNull {
            let text = system.stringValue ?? (system.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
            chat.append(["role": "system", "content": .string(text)])
        }
        for (i, m) in messages.enumerated() { chat += try message(m, at: "messages[\(i)]") }
        out["messages"] = .array(chat)
        for key in ["temperature", "top_p"] where body[key] != nil { out[key] = body[key] }
        if let stops = body["stop_sequences"], !stops.isNull { out["stop"] = stops }
        if body["stream"]?.boolValue == true {
            out["stream"] = true
            out["stream_options"] = ["include_usage": true]
        }
        if let tools = body["tools"]?.arrayValue {
            out["tools"] = .array(
                try tools.enumerated().map { i, t throws(SluiceError) -> JSON in
                    guard let name = t["name"]?.stringValue else { throw refuse("tools[\(i)]", "only custom tools with a name translate") }
                    var f: JSONObject = ["name": .string(name), "parameters": t["input_schema"] ?? ["type": "object"]]
                    if let d = t["description"] { f["description"] = d }
                    return ["type": "function", "function": .object(f)]
                })
        }
        if let choice = body["tool_choice"]?.objectValue {
            switch choice["type"]?.stringValue {
            case "auto": out["tool_choice"] = "auto"
            case "any": out["tool_choice"] = "required"
            case "none": out["tool_choice"] = "none"
            case "tool": out["tool_choice"] = ["type": "function", "function": ["name": choice["name"] ?? ""]]
            default: throw refuse("tool_choice.type", "expected auto, any, tool or none")
            }
            if choice["disable_parallel_tool_use"]?.boolValue == true { out["parallel_tool_calls"] = false }
        }
        if var meta = body["metadata"]?.objectValue {
            if let user = meta.removeValue(forKey: "user_id")?.stringValue { out["user"] = .string(user) }
            if meta.count > 0 { out["metadata"] = .object(meta) }
        }
        return out
    }

    /// One Anthropic message as one or more OpenAI messages (tool results become `tool` messages).
    static func message(_ m: JSON, at path: String) throws(SluiceError) -> [JSON] {
        guard let role = m["role"]?.stringValue, role == "user" || role == "assistant" else {
            throw .invalidRequest("'\(path).role' must be user or assistant.", param: "\(path).role")
        }
        if let text = m["content"]?.stringValue { return [["role": .string(role), "content": .string(text)]] }
        guard let blocks = m["content"]?.arrayValue else {
            throw .invalidRequest("'\(path).content' must be a string or an array of blocks.", param: "\(path).content")
        }
        var parts: [JSON] = []
        var calls: [JSON] = []
        var results: [JSON] = []
        for (k, b) in blocks.enumerated() {
            let at = "\(path).content[\(k)]"
            switch b["type"]?.stringValue {
            case "text":
                var part: JSONObject = ["type": "text", "text": b["text"] ?? ""]
                if let cache = b["cache_control"] { part["cache_control"] = cache }
                parts.append(.object(part))
            case "image":
                let source = b["source"]
                let url: String
                switch source?["type"]?.stringValue {
                case "base64": url = "data:\(source?["media_type"]?.stringValue ?? "image/png");base64,\(source?["data"]?.stringValue ?? "")"
                case "url": url = source?["url"]?.stringValue ?? ""
                default: throw refuse("\(at).source.type", "only base64 and url images translate")
                }
                parts.append(["type": "image_url", "image_url": ["url": .string(url)]])
            case "tool_use" where role == "assistant":
                calls.append([
                    "id": b["id"] ?? "", "type": "function",
                    "function": ["name": b["name"] ?? "", "arguments": .string((b["input"] ?? .object([:])).jsonString)],
                ])
            case "tool_result" where role == "user":
                let content = b["content"]
                let text = content?.stringValue ?? (content?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined()
                results.append(["role": "tool", "tool_call_id": b["tool_use_id"] ?? "", "content": .string(text)])
            default:
                throw refuse(at, "block type '\(b["type"]?.stringValue ?? "?")' does not translate for a \(role) message")
            }
        }
        var out = results
        if role == "assistant" {
            let text = parts.compactMap { $0["text"]?.stringValue }.joined()
            var msg: JSONObject = ["role": "assistant", "content": text.isEmpty && !calls.isEmpty ? .null : .string(text)]
            if !calls.isEmpty { msg["tool_calls"] = .array(calls) }
            out.append(.object(msg))
        } else if !parts.isEmpty {
            let onlyText = parts.allSatisfy { $0["type"]?.stringValue == "text" && $0["cache_control"] == nil }
            out.append(["role": "user", "content": onlyText ? .string(parts.compactMap { $0["text"]?.stringValue }.joined()) : .array(parts)])
        }
        return out
    }

    /// OpenAI `finish_reason` → Anthropic `stop_reason`.
    static func stopReason(_ finish: String?) -> String {
        switch finish {
        case "length": "max_tokens"
        case "tool_calls", "function_call": "tool_use"
        case "content_filter": "refusal"
        default: "end_turn"
        }
    }

    /// Anthropic usage for OpenAI usage (input excludes cache reads, as Anthropic counts it).
    static func usage(_ u: JSON?) -> JSON {
        let prompt = u?["prompt_tokens"]?.intValue ?? 0
        let cached = u?["prompt_tokens_details"]?["cached_tokens"]?.intValue ?? 0
        return [
            "input_tokens": .int(max(0, prompt - cached)), "output_tokens": .int(u?["completion_tokens"]?.intValue ?? 0),
            "cache_read_input_tokens": .int(cached), "cache_creation_input_tokens": 0,
        ]
    }

    /// An Anthropic message for an OpenAI chat completion.
    public static func message(fromOpenAI c: JSONObject) -> JSONObject {
        let choice = c["choices"]?.arrayValue?.first
        var content: [JSON] = []
        if let text = choice?["message"]?["content"]?.stringValue, !text.isEmpty { content.append(["type": "text", "text": .string(text)]) }
        for call in choice?["message"]?["tool_calls"]?.arrayValue ?? [] {
            let args = call["function"]?["arguments"]?.stringValue ?? "{}"
            content.append([
                "type": "tool_use", "id": call["id"] ?? "", "name": call["function"]?["name"] ?? "",
                "input": (try? JSON.parse(args)) ?? .object([:]),
            ])
        }
        let id = (c["id"]?.stringValue ?? "").replacingOccurrences(of: "chatcmpl-", with: "")
        return [
            "id": .string("msg_" + id), "type": "message", "role": "assistant", "model": c["model"] ?? "",
            "content": .array(content), "stop_reason": .string(stopReason(choice?["finish_reason"]?.stringValue)),
            "stop_sequence": nil, "usage": usage(c["usage"]),
        ]
    }

    /// Anthropic's error object for a Sluice error: `{"type":"error","error":{"type","message"}}`.
    public static func error(_ e: SluiceError) -> JSON {
        let type: String
        switch e.code.status {
        case 400, 409, 422: type = "invalid_request_error"
        case 401: type = "authentication_error"
        case 403: type = "permission_error"
        case 404: type = "not_found_error"
        case 413: type = "request_too_large"
        case 429: type = "rate_limit_error"
        case 503: type = "overloaded_error"
        default: type = "api_error"
        }
        return ["type": "error", "error": ["type": .string(type), "message": .string(e.message)]]
    }
}
