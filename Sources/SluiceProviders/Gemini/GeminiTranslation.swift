import SluiceCore

/// Translates OpenAI chat requests to Gemini `generateContent` and its answers
/// (whole and streamed) back. A field Gemini cannot express is a 400 naming it.
enum GeminiTranslation {
    static let known: Set<String> = [
        "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop", "stream",
        "stream_options", "tools", "tool_choice", "response_format", "user", "metadata", "n", "seed",
        "presence_penalty", "frequency_penalty",
    ]

    static func refuse(_ field: String, _ why: String) -> ProviderError {
        ProviderError(.http, status: 400, message: "'\(field)' cannot be sent to a Gemini model: \(why)")
    }

    /// The `generateContent` body for an OpenAI chat body.
    static func request(_ body: JSONObject) throws(ProviderError) -> JSONObject {
        for key in body.keys where !known.contains(key) && body[key]?.isNull == false {
            throw refuse(key, "generateContent has no such parameter")
        }
        var out = JSONObject()
        var system: [String] = []
        var contents: [(role: String, parts: [JSON])] = []
        var callNames: [String: String] = [:]
        func append(_ role: String, _ parts: [JSON]) {
            guard !parts.isEmpty else { return }
            if contents.last?.role == role { contents[contents.count - 1].parts += parts } else { contents.append((role, parts)) }
        }
        for (i, m) in (body["messages"]?.arrayValue ?? []).enumerated() {
            switch m["role"]?.stringValue ?? "user" {
            case "system", "developer":
                system.append(ChatText.content(m["content"]))
            case "user":
                append("user", try parts(m["content"], at: "messages[\(i)].content"))
            case "assistant":
                var p = try parts(m["content"], at: "messages[\(i)].content")
                for call in m["tool_calls"]?.arrayValue ?? [] {
                    let name = call["function"]?["name"]?.stringValue ?? ""
                    if let id = call["id"]?.stringValue { callNames[id] = name }
                    let args = (try? JSON.parse(call["function"]?["arguments"]?.stringValue ?? "{}")) ?? .object([:])
                    p.append(["functionCall": ["name": .string(name), "args": args]])
                }
                append("model", p)
            case "tool", "function":
                let id = m["tool_call_id"]?.stringValue ?? ""
                guard let name = callNames[id] ?? m["name"]?.stringValue else {
                    throw refuse("messages[\(i)].tool_call_id", "no earlier assistant tool call has the id '\(id)'")
                }
                let text = ChatText.content(m["content"])
                let response: JSON = (try? JSON.parse(text)).flatMap { $0.objectValue.map(JSON.object) } ?? ["content": .string(text)]
                append("user", [["functionResponse": ["name": .string(name), "response": response]]])
            case let role:
                throw refuse("messages[\(i)].role", "'\(role)' has no Gemini equivalent")
            }
        }
        out["contents"] = .array(contents.map { ["role": .string($0.role), "parts": .array($0.parts)] })
        if !system.isEmpty { out["systemInstruction"] = ["parts": [["text": .string(system.joined(separator: "\n\n"))]]] }
        var config = JSONObject()
        if let v = body["max_completion_tokens"] ?? body["max_tokens"], !v.isNull { config["maxOutputTokens"] = v }
        if let v = body["temperature"], !v.isNull { config["temperature"] = v }
        if let v = body["top_p"], !v.isNull { config["topP"] = v }
        if let v = body["n"], !v.isNull { config["candidateCount"] = v }
        if let v = body["seed"], !v.isNull { config["seed"] = v }
        if let v = body["presence_penalty"], !v.isNull { config["presencePenalty"] = v }
        if let v = body["frequency_penalty"], !v.isNull { config["frequencyPenalty"] = v }
        if let stop = body["stop"], !stop.isNull { config["stopSequences"] = stop.stringValue.map { .array([.string($0)]) } ?? stop }
        if let format = body["response_format"]?.objectValue, let type = format["type"]?.stringValue, type != "text" {
            config["responseMimeType"] = "application/json"
            if type == "json_schema", let schema = format["json_schema"]?["schema"] {
                // responseSchema takes an OpenAPI subset; anything richer goes as responseJsonSchema.
                config[fitsOpenAPISubset(schema) ? "responseSchema" : "responseJsonSchema"] = schema
            }
        }
        if config.count > 0 { out["generationConfig"] = .object(config) }
        if let tools = body["tools"]?.arrayValue, !tools.isEmpty {
            let declarations = try tools.enumerated().map { i, t throws(ProviderError) -> JSON in
                guard t["type"]?.stringValue == "function", let f = t["function"]?.objectValue, let name = f["name"] else {
                    throw refuse("tools[\(i)]", "only function tools translate")
                }
                var d: JSONObject = ["name": name]
                if let desc = f["description"] { d["description"] = desc }
                if let p = f["parameters"] { d["parameters"] = p }
                return .object(d)
            }
            out["tools"] = [["functionDeclarations": .array(declarations)]]
        }
        if let choice = body["tool_choice"], !choice.isNull {
            var fc: JSONObject
            switch choice.stringValue {
            case "auto": fc = ["mode": "AUTO"]
            case "none": fc = ["mode": "NONE"]
            case "required": fc = ["mode": "ANY"]
            case nil:
                guard let name = choice["function"]?["name"] else { throw refuse("tool_choice", "expected a function name") }
                fc = ["mode": "ANY", "allowedFunctionNames": [name]]
            case let other?: throw refuse("tool_choice", "'\(other)' is not auto, none or required")
            }
            out["toolConfig"] = ["functionCallingConfig": .object(fc)]
        }
        return out
    }

    /// Keywords Gemini's `responseSchema` (an OpenAPI 3.0 subset) accepts.
    static let openAPIKeywords: Set<String> = [
        "type", "format", "title", "description", "nullable", "enum", "items", "minItems", "maxItems", "properties",
        "required", "minProperties", "maxProperties", "propertyOrdering", "anyOf", "minimum", "maximum", "minLength",
        "maxLength", "pattern", "example", "default",
    ]

    /// Whether `schema` uses only ``openAPIKeywords``, each `type` a single name.
    static func fitsOpenAPISubset(_ schema: JSON) -> Bool {
        guard let obj = schema.objectValue else { return false }
        for (key, value) in obj {
            guard openAPIKeywords.contains(key) else { return false }
            switch key {
            case "type": if value.stringValue == nil { return false }
            case "items": if !fitsOpenAPISubset(value) { return false }
            case "properties":
                for (_, sub) in value.objectValue ?? [:] where !fitsOpenAPISubset(sub) { return false }
            case "anyOf":
                for sub in value.arrayValue ?? [] where !fitsOpenAPISubset(sub) { return false }
            default: break
            }
        }
        return true
    }

    static func parts(_ value: JSON?, at path: String) throws(ProviderError) -> [JSON] {
        guard let value, !value.isNull else { return [] }
        if let s = value.stringValue { return s.isEmpty ? [] : [["text": .string(s)]] }
        var out: [JSON] = []
        for (k, part) in (value.arrayValue ?? []).enumerated() {
            switch part["type"]?.stringValue {
            case "text": out.append(["text": part["text"] ?? ""])
            case "image_url":
                let url = part["image_url"]?["url"]?.stringValue ?? ""
                if url.hasPrefix("data:"), let semi = url.firstIndex(of: ";"), let comma = url.firstIndex(of: ",") {
                    let mime = String(url[url.index(url.startIndex, offsetBy: 5)..<semi])
                    out.append(["inlineData": ["mimeType": .string(mime), "data": .string(String(url[url.index(after: comma)...]))]])
                } else if url.hasPrefix("http") {
                    let lower = url.lowercased()
                    let mime = lower.hasSuffix(".png") ? "image/png" : lower.hasSuffix(".webp") ? "image/webp" : "image/jpeg"
                    out.append(["fileData": ["mimeType": .string(mime), "fileUri": .string(url)]])
                } else {
                    throw refuse("\(path)[\(k)]", "the image URL must be http(s) or a base64 data URL")
                }
            default:
                throw refuse("\(path)[\(k)]", "content part type '\(part["type"]?.stringValue ?? "?")' does not translate")
            }
        }
        return out
    }

    static func finishReason(_ reason: String?, calls: Bool) -> String? {
        switch reason {
        case nil: nil
        case "MAX_TOKENS": "length"
        case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY": "content_filter"
        default: calls ? "tool_calls" : "stop"
        }
    }

    /// Gemini `usageMetadata` as Sluice counts it.
    static func usage(_ u: JSON?) -> Usage {
        Usage(
            inputTokens: u?["promptTokenCount"]?.intValue ?? 0,
            outputTokens: (u?["candidatesTokenCount"]?.intValue ?? 0) + (u?["thoughtsTokenCount"]?.intValue ?? 0),
            cachedTokens: u?["cachedContentTokenCount"]?.intValue ?? 0)
    }

    /// Text and tool calls of one candidate; tool-call ids are made up (`call_N`) when Gemini sends none.
    static func message(_ candidate: JSON?, firstCall: Int = 0) -> (text: String, calls: [JSON]) {
        var text = ""
        var calls: [JSON] = []
        for part in candidate?["content"]?["parts"]?.arrayValue ?? [] {
            if let t = part["text"]?.stringValue, part["thought"]?.boolValue != true { text += t }
            if let call = part["functionCall"] {
                let id = call["id"]?.stringValue ?? "call_\(firstCall + calls.count)"
                calls.append([
                    "id": .string(id), "type": "function",
                    "function": ["name": call["name"] ?? "", "arguments": .string((call["args"] ?? .object([:])).jsonString)],
                ])
            }
        }
        return (text, calls)
    }

    /// A `chat.completion` for a Gemini answer.
    static func completion(_ r: JSONObject, model: String, created: Int) -> (JSONObject, Usage) {
        var choices: [JSON] = []
        for (i, c) in (r["candidates"]?.arrayValue ?? []).enumerated() {
            let (text, calls) = message(c)
            var msg: JSONObject = ["role": "assistant", "content": text.isEmpty && !calls.isEmpty ? .null : .string(text), "refusal": nil]
            if !calls.isEmpty { msg["tool_calls"] = .array(calls) }
            choices.append([
                "index": .int(i), "message": .object(msg), "logprobs": nil,
                "finish_reason": .string(finishReason(c["finishReason"]?.stringValue ?? "STOP", calls: !calls.isEmpty) ?? "stop"),
            ])
        }
        let u = usage(r["usageMetadata"])
        let out: JSONObject = [
            "id": .string("chatcmpl-" + (r["responseId"]?.stringValue ?? "gemini")), "object": "chat.completion",
            "created": .int(created), "model": .string(r["modelVersion"]?.stringValue ?? model), "choices": .array(choices),
            "usage": AnthropicResponse.openAIUsage(u),
        ]
        return (out, u)
    }
}
