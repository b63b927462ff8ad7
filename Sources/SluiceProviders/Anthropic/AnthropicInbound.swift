import Foundation
import SluiceCore

/// Translates Anthropic Messages requests (the `/v1/messages` route) into the
/// OpenAI chat shape Sluice's policies read and OpenAI-family targets take, and
/// OpenAI answers back into Anthropic messages.
///
/// The translation is lenient: what only the Messages API can express (`thinking`,
/// `top_k`, `document` blocks, server tools, unknown fields…) is left out of the
/// OpenAI shape and listed in ``NativeRequest/nativeOnly``; the request itself goes
/// to Anthropic targets as the client sent it. What crosses to other families
/// without changing the answer is left out of the OpenAI shape (`cache_control` on
/// `system` and tools, `thinking` blocks of earlier assistant turns, `citations`,
/// `service_tier`, the `anthropic-beta` header) or kept for the providers to strip
/// (`cache_control` on text blocks).
public enum AnthropicInbound {
    static let known: Set<String> = [
        "model", "messages", "system", "max_tokens", "temperature", "top_p", "stop_sequences", "stream", "tools",
        "tool_choice", "metadata",
    ]
    /// Top-level fields that other families do without (dropped from the OpenAI shape, kept natively).
    static let crossing: Set<String> = ["service_tier"]
    /// Client headers passed to Anthropic upstreams as they are.
    public static let passThroughHeaders = ["anthropic-beta"]

    /// A request as both Sluice's OpenAI shape and the client's own.
    public struct Translation: Sendable {
        /// The OpenAI chat body: what the policies read and OpenAI-family targets get.
        public var openAI: JSONObject
        /// The body as sent (Sluice's `metadata` keys removed), what the OpenAI shape
        /// lost that changes the answer (`nativeOnly`) and the pass-through headers.
        public var native: NativeRequest
    }

    /// Collects what only the Messages API can express, each name once, in order.
    struct NativeOnly {
        var names: [String] = []
        mutating func add(_ name: String) { if !names.contains(name) { names.append(name) } }
    }

    /// The OpenAI chat body for an Anthropic Messages body, and the native request.
    /// Sluice keys in `metadata` (`x-sluice-*`) are kept in the OpenAI shape and removed
    /// from the native body; `metadata.user_id` becomes `user`. `headers` are the client's
    /// (name, value) pairs; those in ``passThroughHeaders`` go with the native request.
    public static func translate(_ json: JSON, headers: [(String, String)] = []) throws(SluiceError) -> Translation {
        var nativeOnly = NativeOnly()
        let openAI = try toOpenAI(json, nativeOnly: &nativeOnly)
        var body = json.objectValue ?? [:]
        if var meta = body["metadata"]?.objectValue {
            let sluiceKeys = meta.keys.filter { $0.lowercased().hasPrefix("x-sluice-") }
            if !sluiceKeys.isEmpty {
                for k in sluiceKeys { meta.removeValue(forKey: k) }
                if meta.count == 0 { body.removeValue(forKey: "metadata") } else { body["metadata"] = .object(meta) }
            }
        }
        let passed = headers.filter { passThroughHeaders.contains($0.0.lowercased()) }.map { ($0.0.lowercased(), $0.1) }
        return Translation(
            openAI: openAI, native: NativeRequest(format: .anthropicMessages, body: body, headers: passed, nativeOnly: nativeOnly.names))
    }

    /// The OpenAI chat body; what it leaves out that changes the answer is added to `nativeOnly`.
    static func toOpenAI(_ json: JSON, nativeOnly: inout NativeOnly) throws(SluiceError) -> JSONObject {
        guard let body = json.objectValue else {
            throw .invalidRequest("The request body must be a JSON object, got \(json.typeName).")
        }
        for key in body.keys where !known.contains(key) && !crossing.contains(key) && body[key]?.isNull == false {
            if key == "thinking", body["thinking"]?["type"]?.stringValue == "disabled" { continue }
            nativeOnly.add(key)
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
            // `cache_control` on system blocks stays in the native body only.
            let text = system.stringValue ?? (system.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
            chat.append(["role": "system", "content": .string(text)])
        }
        for (i, m) in messages.enumerated() { chat += try message(m, at: "messages[\(i)]", nativeOnly: &nativeOnly) }
        out["messages"] = .array(chat)
        for key in ["temperature", "top_p"] where body[key] != nil { out[key] = body[key] }
        if let stops = body["stop_sequences"], !stops.isNull { out["stop"] = stops }
        if body["stream"]?.boolValue == true {
            out["stream"] = true
            out["stream_options"] = ["include_usage": true]
        }
        if let tools = body["tools"]?.arrayValue {
            var functions: [JSON] = []
            for (i, t) in tools.enumerated() {
                let type = t["type"]?.stringValue ?? "custom"
                guard type == "custom" else {
                    nativeOnly.add("\(type) tool")
                    continue
                }
                guard let name = t["name"]?.stringValue else {
                    throw .invalidRequest("'tools[\(i)].name' is required for a custom tool.", param: "tools[\(i)].name")
                }
                var f: JSONObject = ["name": .string(name), "parameters": t["input_schema"] ?? ["type": "object"]]
                if let d = t["description"] { f["description"] = d }
                functions.append(["type": "function", "function": .object(f)])
            }
            if !functions.isEmpty { out["tools"] = .array(functions) }
        }
        if let choice = body["tool_choice"]?.objectValue {
            switch choice["type"]?.stringValue {
            case "auto": out["tool_choice"] = "auto"
            case "any": out["tool_choice"] = "required"
            case "none": out["tool_choice"] = "none"
            case "tool": out["tool_choice"] = ["type": "function", "function": ["name": choice["name"] ?? ""]]
            default: throw .invalidRequest("'tool_choice.type' must be auto, any, tool or none.", param: "tool_choice.type")
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
    static func message(_ m: JSON, at path: String, nativeOnly: inout NativeOnly) throws(SluiceError) -> [JSON] {
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
        for b in blocks {
            let type = b["type"]?.stringValue ?? "?"
            switch type {
            case "text":
                // `citations` of earlier answers stay in the native body only.
                var part: JSONObject = ["type": "text", "text": b["text"] ?? ""]
                if let cache = b["cache_control"] { part["cache_control"] = cache }
                parts.append(.object(part))
            case "image":
                let source = b["source"]
                switch source?["type"]?.stringValue {
                case "base64":
                    let url = "data:\(source?["media_type"]?.stringValue ?? "image/png");base64,\(source?["data"]?.stringValue ?? "")"
                    parts.append(["type": "image_url", "image_url": ["url": .string(url)]])
                case "url":
                    parts.append(["type": "image_url", "image_url": ["url": source?["url"] ?? ""]])
                default:
                    nativeOnly.add("image source '\(source?["type"]?.stringValue ?? "?")'")
                }
            case "document":
                // Only Anthropic reads documents; the policies (guards, the token estimate) see their plain text.
                nativeOnly.add("document")
                if let text = documentText(b) { parts.append(["type": "text", "text": .string(text)]) }
            case "thinking" where role == "assistant", "redacted_thinking" where role == "assistant":
                // An earlier turn's reasoning: Anthropic checks its signature, other families do without it.
                continue
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
                nativeOnly.add(type)
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

    /// A document block's plain text (its title and text source or text content blocks), if it has any.
    static func documentText(_ block: JSON) -> String? {
        let source = block["source"]
        var text: String?
        switch source?["type"]?.stringValue {
        case "text": text = source?["data"]?.stringValue
        case "content":
            text = source?["content"]?.stringValue
                ?? (source?["content"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
        default: break
        }
        let title = block["title"]?.stringValue
        let joined = [title, text].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "\n")
        return joined.isEmpty ? nil : joined
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

    /// An Anthropic message id for an OpenAI completion id: `chatcmpl-` becomes `msg_`,
    /// once (an answer that came from Anthropic already has its `msg_…` id).
    static func messageID(_ openAIID: String?) -> String {
        var id = Substring(openAIID ?? "")
        if id.hasPrefix("chatcmpl-") { id = id.dropFirst("chatcmpl-".count) }
        return id.hasPrefix("msg_") ? String(id) : "msg_" + id
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
        return [
            "id": .string(messageID(c["id"]?.stringValue)), "type": "message", "role": "assistant", "model": c["model"] ?? "",
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
