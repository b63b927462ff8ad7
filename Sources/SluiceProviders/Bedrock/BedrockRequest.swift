import Foundation
import SluiceCore

/// Translates an OpenAI chat request into a Bedrock Converse request body. A field Converse
/// cannot express is a 400 naming it, never silently dropped.
enum BedrockRequest {
    /// The tool Sluice forces when the client asked for JSON output (`response_format`).
    static let jsonToolName = "json_output"

    /// Fields that translate (everything else is refused, unless null or a neutral default).
    static let known: Set<String> = [
        "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop", "stream",
        "stream_options", "tools", "tool_choice", "parallel_tool_calls", "response_format", "user", "metadata",
    ]

    static func refuse(_ field: String, _ why: String) -> ProviderError {
        ProviderError(.http, status: 400, message: "'\(field)' cannot be sent to a Bedrock model: \(why)")
    }

    /// The Converse body (without the model, which goes in the URL) for OpenAI `body`.
    static func translate(_ body: JSONObject) throws(ProviderError) -> JSONObject {
        for key in body.keys where !known.contains(key) {
            if key == "n", body["n"]?.intValue == 1 { continue }
            if ["frequency_penalty", "presence_penalty"].contains(key), body[key]?.doubleValue ?? 0 == 0 { continue }
            if body[key]?.isNull == true { continue }
            throw refuse(key, "the Converse API has no such parameter")
        }
        var out = JSONObject()
        let (system, messages) = try translateMessages(body["messages"]?.arrayValue ?? [])
        if !system.isEmpty { out["system"] = .array(system.map { ["text": .string($0)] }) }
        out["messages"] = .array(messages)
        var config = JSONObject()
        if let v = body["max_completion_tokens"] ?? body["max_tokens"], !v.isNull {
            guard let n = v.intValue, n > 0 else { throw refuse("max_tokens", "expected a positive integer") }
            config["maxTokens"] = .int(n)
        }
        if let v = body["temperature"], !v.isNull { config["temperature"] = v }
        if let v = body["top_p"], !v.isNull { config["topP"] = v }
        if let stop = body["stop"], !stop.isNull {
            config["stopSequences"] = stop.stringValue.map { .array([.string($0)]) } ?? stop
        }
        if config.count > 0 { out["inferenceConfig"] = .object(config) }
        var tools = try (body["tools"]?.arrayValue ?? []).enumerated().map { i, t throws(ProviderError) in try tool(t, index: i) }
        var choice = try toolChoice(body["tool_choice"])
        if let format = body["response_format"]?.objectValue, let type = format["type"]?.stringValue, type != "text" {
            // JSON output becomes one forced tool whose input is the answer.
            var schema: JSON = ["type": "object"]
            if type == "json_schema" { schema = format["json_schema"]?["schema"] ?? schema }
            tools.append([
                "toolSpec": [
                    "name": .string(jsonToolName), "description": "Respond with the JSON object.", "inputSchema": ["json": schema],
                ]
            ])
            choice = ["tool": ["name": .string(jsonToolName)]]
        }
        if !tools.isEmpty {
            var toolConfig: JSONObject = ["tools": .array(tools)]
            if let choice { toolConfig["toolChoice"] = choice }
            out["toolConfig"] = .object(toolConfig)
        }
        return out
    }

    static func tool(_ t: JSON, index: Int) throws(ProviderError) -> JSON {
        guard t["type"]?.stringValue == "function", let f = t["function"]?.objectValue, let name = f["name"]?.stringValue else {
            throw refuse("tools[\(index)]", "only function tools translate")
        }
        var spec: JSONObject = ["name": .string(name), "inputSchema": ["json": f["parameters"] ?? ["type": "object", "properties": [:]]]]
        if let d = f["description"]?.stringValue, !d.isEmpty { spec["description"] = .string(d) }
        return ["toolSpec": .object(spec)]
    }

    /// `auto`, `required` (→ `any`) and a named function (→ `tool`); `none` has no Converse
    /// equivalent and leaves the choice to the model (the tools stay, as a conversation with
    /// tool blocks needs them).
    static func toolChoice(_ choice: JSON?) throws(ProviderError) -> JSON? {
        guard let c = choice, !c.isNull else { return nil }
        if let s = c.stringValue {
            switch s {
            case "auto", "none": return s == "auto" ? ["auto": [:]] : nil
            case "required": return ["any": [:]]
            default: throw refuse("tool_choice", "'\(s)' is not auto, none or required")
            }
        }
        guard let name = c["function"]?["name"]?.stringValue else {
            throw refuse("tool_choice", "expected a string or {type: function, function: {name}}")
        }
        return ["tool": ["name": .string(name)]]
    }

    /// System and developer messages become `system`; tool results become user `toolResult` blocks;
    /// consecutive messages of one role are merged, as Converse wants them alternating.
    static func translateMessages(_ messages: [JSON]) throws(ProviderError) -> ([String], [JSON]) {
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
                let text = ChatText.content(m["content"])
                if !text.isEmpty { system.append(text) }
            case "user":
                append("user", try content(m["content"], at: "messages[\(i)].content"))
            case "assistant":
                var blocks = try content(m["content"], at: "messages[\(i)].content")
                for (j, call) in (m["tool_calls"]?.arrayValue ?? []).enumerated() {
                    guard let id = call["id"]?.stringValue, let name = call["function"]?["name"]?.stringValue else {
                        throw refuse("messages[\(i)].tool_calls[\(j)]", "a tool call needs an id and a function name")
                    }
                    let args = call["function"]?["arguments"]?.stringValue ?? "{}"
                    let input = (try? JSON.parse(args.isEmpty ? "{}" : args)) ?? JSON.object([:])
                    blocks.append(["toolUse": ["toolUseId": .string(id), "name": .string(name), "input": input]])
                }
                append("assistant", blocks)
            case "tool", "function":
                guard let id = m["tool_call_id"]?.stringValue else {
                    throw refuse("messages[\(i)].tool_call_id", "a tool result needs the id of its call")
                }
                let text = ChatText.content(m["content"])
                let result: JSON = (try? JSON.parse(text))?.objectValue.map { ["json": .object($0)] } ?? ["text": .string(text)]
                append("user", [["toolResult": ["toolUseId": .string(id), "content": [result]]]])
            default:
                throw refuse("messages[\(i)].role", "'\(role)' has no Converse equivalent")
            }
        }
        return (system, out.map { ["role": .string($0.role), "content": .array($0.blocks)] })
    }

    /// Text and image parts as Converse content blocks (empty text is left out: Converse refuses blank text).
    static func content(_ value: JSON?, at path: String) throws(ProviderError) -> [JSON] {
        guard let value, !value.isNull else { return [] }
        if let s = value.stringValue { return s.isEmpty ? [] : [["text": .string(s)]] }
        var blocks: [JSON] = []
        for (k, part) in (value.arrayValue ?? []).enumerated() {
            switch part["type"]?.stringValue {
            case "text":
                if let text = part["text"]?.stringValue, !text.isEmpty { blocks.append(["text": .string(text)]) }
            case "image_url":
                blocks.append(try image(part["image_url"]?["url"]?.stringValue ?? "", at: "\(path)[\(k)]"))
            default:
                throw refuse("\(path)[\(k)]", "content part type '\(part["type"]?.stringValue ?? "?")' does not translate")
            }
        }
        return blocks
    }

    /// Converse image formats by media type.
    static let imageFormats = ["image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif", "image/webp": "webp"]

    /// A `data:image/…;base64,…` URL as an image block; Bedrock takes image bytes only, so an
    /// http(s) URL is refused (Sluice does not fetch URLs on a client's behalf).
    static func image(_ url: String, at path: String) throws(ProviderError) -> JSON {
        guard url.hasPrefix("data:") else {
            throw refuse(
                path,
                "Bedrock takes images as bytes only, not URLs; send the image as a base64 data URL (data:image/png;base64,…)")
        }
        let rest = url.dropFirst(5)
        guard let semi = rest.firstIndex(of: ";"), let comma = rest.firstIndex(of: ","),
            rest[rest.index(after: semi)..<comma] == "base64"
        else { throw refuse(path, "a data URL must be data:MEDIA_TYPE;base64,DATA") }
        let mediaType = rest[..<semi].lowercased()
        guard let format = imageFormats[mediaType] else {
            throw refuse(path, "image type '\(mediaType)' is not one of png, jpeg, gif, webp")
        }
        let data = String(rest[rest.index(after: comma)...])
        guard Data(base64Encoded: data) != nil else { throw refuse(path, "the data URL is not valid base64") }
        return ["image": ["format": .string(format), "source": ["bytes": .string(data)]]]
    }
}
