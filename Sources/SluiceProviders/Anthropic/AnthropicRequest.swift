import SluiceCore

/// Translates an OpenAI chat request into an Anthropic Messages request.
/// A field that cannot be expressed for Anthropic is a 400 naming it, never
/// silently dropped.
enum AnthropicRequest {
    /// The tool Sluice forces when the client asked for JSON output (`response_format`).
    static let jsonToolName = "json_output"
    /// `max_tokens` is required by Anthropic; used when the client sent none.
    static let defaultMaxTokens = 4096

    /// Fields that translate (everything else is refused).
    static let known: Set<String> = [
        "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop", "stream",
        "stream_options", "tools", "tool_choice", "parallel_tool_calls", "response_format", "user", "metadata",
    ]

    static func refuse(_ field: String, _ why: String) -> ProviderError {
        ProviderError(.http, status: 400, message: "'\(field)' cannot be sent to an Anthropic model: \(why)")
    }

    /// The Anthropic body for OpenAI `body`, addressed to `model`.
    static func translate(_ body: JSONObject, model: String) throws(ProviderError) -> JSONObject {
        for key in body.keys where !known.contains(key) {
            if key == "n", body["n"]?.intValue == 1 { continue }
            if ["frequency_penalty", "presence_penalty"].contains(key), body[key]?.doubleValue ?? 0 == 0 { continue }
            if body[key]?.isNull == true { continue }
            throw refuse(key, "the Messages API has no such parameter")
        }
        var out = JSONObject()
        out["model"] = .string(model)
        let (system, messages) = try translateMessages(body["messages"]?.arrayValue ?? [])
        if let system { out["system"] = system }
        out["messages"] = .array(messages)
        out["max_tokens"] = .int(body["max_completion_tokens"]?.intValue ?? body["max_tokens"]?.intValue ?? defaultMaxTokens)
        if let t = body["temperature"], !t.isNull {
            guard let v = t.doubleValue, v <= 1 else { throw refuse("temperature", "Anthropic models take 0 to 1") }
            out["temperature"] = .double(v)
        }
        if let p = body["top_p"], !p.isNull { out["top_p"] = p }
        if let stop = body["stop"], !stop.isNull {
            out["stop_sequences"] = stop.stringValue.map { .array([.string($0)]) } ?? stop
        }
        if body["stream"]?.boolValue == true { out["stream"] = true }
        if let user = body["user"]?.stringValue { out["metadata"] = ["user_id": .string(user)] }
        var tools = try (body["tools"]?.arrayValue ?? []).enumerated().map { i, t throws(ProviderError) in try tool(t, index: i) }
        var choice = try toolChoice(body["tool_choice"], parallel: body["parallel_tool_calls"]?.boolValue)
        if let format = body["response_format"]?.objectValue, let type = format["type"]?.stringValue, type != "text" {
            // JSON output becomes one forced tool whose input is the answer.
            var schema: JSON = ["type": "object"]
            if type == "json_schema" { schema = format["json_schema"]?["schema"] ?? schema }
            tools.append(["name": .string(jsonToolName), "description": "Respond with the JSON object.", "input_schema": schema])
            choice = ["type": "tool", "name": .string(jsonToolName)]
        }
        if !tools.isEmpty { out["tools"] = .array(tools) }
        if let choice { out["tool_choice"] = choice }
        return out
    }

    static func tool(_ t: JSON, index: Int) throws(ProviderError) -> JSON {
        guard t["type"]?.stringValue == "function", let f = t["function"]?.objectValue, let name = f["name"]?.stringValue else {
            throw refuse("tools[\(index)]", "only function tools translate")
        }
        var out: JSONObject = ["name": .string(name), "input_schema": f["parameters"] ?? ["type": "object", "properties": [:]]]
        if let d = f["description"]?.stringValue { out["description"] = .string(d) }
        return .object(out)
    }

    static func toolChoice(_ choice: JSON?, parallel: Bool?) throws(ProviderError) -> JSON? {
        var out: JSONObject
        switch choice {
        case nil, .some(.null): out = parallel == false ? ["type": "auto"] : [:]
        case .some(let c):
            if let s = c.stringValue {
                switch s {
                case "auto": out = ["type": "auto"]
                case "none": out = ["type": "none"]
                case "required": out = ["type": "any"]
                default: throw refuse("tool_choice", "'\(s)' is not auto, none or required")
                }
            } else if let name = c["function"]?["name"]?.stringValue {
                out = ["type": "tool", "name": .string(name)]
            } else {
                throw refuse("tool_choice", "expected a string or {type: function, function: {name}}")
            }
        }
        if out.count == 0 { return nil }
        if parallel == false, out["type"]?.stringValue != "none" { out["disable_parallel_tool_use"] = true }
        return .object(out)
    }

    /// System and developer messages become `system`; tool results become user `tool_result` blocks;
    /// consecutive messages of one role are merged, as the Messages API wants them alternating.
    static func translateMessages(_ messages: [JSON]) throws(ProviderError) -> (JSON?, [JSON]) {
        var system: [String] = []
        var out: [(role: String, blocks: [JSON])] = []
        func append(_ role: String, _ blocks: [JSON]) {
            guard !blocks.isEmpty else { return }
            if out.last?.role == role { out[out.count - 1].blocks += blocks } else { out.append((role, blocks)) }
        }
        for (i, m) in messages.enumerated() {
            let role = m["role"]?.stringValue ?? "user"
            switch role {
            case "system", "developer":
                system.append(ChatText.content(m["content"]))
            case "user":
                append("user", try content(m["content"], at: "messages[\(i)].content"))
            case "assistant":
                var blocks = try content(m["content"], at: "messages[\(i)].content")
                for (j, call) in (m["tool_calls"]?.arrayValue ?? []).enumerated() {
                    guard let id = call["id"]?.stringValue, let name = call["function"]?["name"]?.stringValue else {
                        throw refuse("messages[\(i)].tool_calls[\(j)]", "a tool call needs an id and a function name")
                    }
                    let args = call["function"]?["arguments"]?.stringValue ?? "{}"
                    let input = (try? JSON.parse(args)) ?? JSON.object([:])
                    blocks.append(["type": "tool_use", "id": .string(id), "name": .string(name), "input": input])
                }
                append("assistant", blocks)
            case "tool", "function":
                guard let id = m["tool_call_id"]?.stringValue else {
                    throw refuse("messages[\(i)].tool_call_id", "a tool result needs the id of its call")
                }
                append("user", [["type": "tool_result", "tool_use_id": .string(id), "content": .string(ChatText.content(m["content"]))]])
            default:
                throw refuse("messages[\(i)].role", "'\(role)' has no Anthropic equivalent")
            }
        }
        let systemJSON: JSON? = system.isEmpty ? nil : .string(system.joined(separator: "\n\n"))
        return (systemJSON, out.map { ["role": .string($0.role), "content": .array($0.blocks)] })
    }

    /// Text and image parts as Anthropic content blocks.
    static func content(_ value: JSON?, at path: String) throws(ProviderError) -> [JSON] {
        guard let value, !value.isNull else { return [] }
        if let s = value.stringValue { return s.isEmpty ? [] : [["type": "text", "text": .string(s)]] }
        var blocks: [JSON] = []
        for (k, part) in (value.arrayValue ?? []).enumerated() {
            switch part["type"]?.stringValue {
            case "text":
                var block: JSONObject = ["type": "text", "text": part["text"] ?? ""]
                if let cache = part["cache_control"] { block["cache_control"] = cache }
                blocks.append(.object(block))
            case "image_url":
                let url = part["image_url"]?["url"]?.stringValue ?? ""
                blocks.append(["type": "image", "source": try imageSource(url, at: "\(path)[\(k)]")])
            default:
                throw refuse("\(path)[\(k)]", "content part type '\(part["type"]?.stringValue ?? "?")' does not translate")
            }
        }
        return blocks
    }

    /// `data:image/png;base64,…` becomes a base64 source; an http(s) URL a url source.
    static func imageSource(_ url: String, at path: String) throws(ProviderError) -> JSON {
        if url.hasPrefix("data:") {
            let rest = url.dropFirst(5)
            guard let semi = rest.firstIndex(of: ";"), let comma = rest.firstIndex(of: ","),
                rest[rest.index(after: semi)..<comma] == "base64"
            else { throw refuse(path, "a data URL must be data:MEDIA_TYPE;base64,DATA") }
            return ["type": "base64", "media_type": .string(String(rest[..<semi])), "data": .string(String(rest[rest.index(after: comma)...]))]
        }
        guard url.hasPrefix("https://") || url.hasPrefix("http://") else { throw refuse(path, "the image URL must be http(s) or data:") }
        return ["type": "url", "url": .string(url)]
    }
}
