import SluiceCore

/// A validated OpenAI Responses API create body (`POST /v1/responses`).
///
/// The body stays a ``JSONObject`` (``native``'s body is the client's own, for
/// providers that take the Responses API); the typed properties are the fields Sluice
/// acts on. A field of the wrong type is a 400 naming it (`input[2].type`). What only
/// the Responses API can express (built-in tools and their items, `prompt`, unknown
/// top-level fields…) is listed in ``nativeOnly`` as `tools[1] (web_search)`: only a
/// target whose provider takes ``NativeFormat/openAIResponses`` can serve it.
public struct ResponsesRequest: Sendable {
    /// The model name the client asked for.
    public var model: String
    /// This turn's input items as sent; a string input is one user `message` item.
    public var input: [JSON]
    /// The system instructions (`instructions`).
    public var instructions: String?
    /// The tools as sent (function tools and built-in ones).
    public var tools: [JSON]
    /// `tool_choice` as sent.
    public var toolChoice: JSON?
    /// `parallel_tool_calls`; `nil` when not sent (the API's default is true).
    public var parallelToolCalls: Bool?
    /// `text` as sent (`{format: {type: text | json_object | json_schema, …}, verbosity}`).
    public var text: JSONObject?
    /// `max_output_tokens`.
    public var maxOutputTokens: Int?
    /// `temperature` as sent.
    public var temperature: JSON?
    /// `top_p` as sent.
    public var topP: JSON?
    /// `metadata` as sent, Sluice's `x-sluice-*` keys included.
    public var metadata: JSONObject?
    /// `user`.
    public var user: String?
    /// `store` (default true): whether the response is kept for `previous_response_id` and retrieval.
    public var store: Bool
    /// The response this one continues.
    public var previousResponseID: String?
    /// `include` (`reasoning.encrypted_content`, `message.output_text.logprobs`…).
    public var include: [String]
    /// `background`.
    public var background: Bool
    /// `stream`.
    public var stream: Bool
    /// `reasoning` as sent (`{effort, summary}`).
    public var reasoning: JSONObject?
    /// What only the Responses API can express, in order (`tools[0] (web_search)`,
    /// `input[3] (computer_call)`, `prompt`); see ``NativeRequest/nativeOnly``.
    public var nativeOnly: [String]
    /// The body as sent, with Sluice's `x-sluice-*` metadata keys removed.
    public var body: JSONObject

    /// Fields Sluice reads.
    static let known: Set<String> = [
        "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "text", "max_output_tokens",
        "temperature", "top_p", "metadata", "user", "store", "previous_response_id", "include", "background", "stream",
        "reasoning",
    ]
    /// Fields other families do without: left out of the chat shape, kept natively. None
    /// changes the answer's content (`include` and `top_logprobs` only add detail to it).
    static let crossing: Set<String> = [
        "truncation", "service_tier", "prompt_cache_key", "prompt_cache_retention", "safety_identifier", "stream_options",
        "top_logprobs", "max_tool_calls",
    ]
    /// Item types of built-in tools: kept natively, never translated.
    static let builtInItems: Set<String> = [
        "file_search_call", "computer_call", "computer_call_output", "web_search_call", "image_generation_call",
        "code_interpreter_call", "local_shell_call", "local_shell_call_output", "shell_call", "shell_call_output",
        "apply_patch_call", "apply_patch_call_output", "mcp_list_tools", "mcp_approval_request", "mcp_approval_response",
        "mcp_call", "custom_tool_call", "custom_tool_call_output", "tool_search_call", "tool_search_output", "compaction",
        "compaction_trigger", "additional_tools", "program", "program_output", "configuration_update",
    ]
    /// The message roles of input items.
    static let roles: Set<String> = ["user", "assistant", "system", "developer"]

    /// Validates and decodes a create body.
    public init(body json: JSON) throws(SluiceError) {
        guard var body = json.objectValue else {
            throw .invalidRequest("The request body must be a JSON object, got \(json.typeName).")
        }
        var nativeOnly = NativeOnlyList()
        guard let modelValue = body["model"], !modelValue.isNull else {
            throw .invalidRequest("Missing required field 'model'.", param: "model")
        }
        guard let model = modelValue.stringValue, !model.isEmpty else {
            throw .invalidRequest("'model' must be a non-empty string, got \(modelValue.typeName).", param: "model")
        }
        self.model = model
        if let c = Self.value(body, "conversation") {
            throw .invalidRequest(
                "'conversation' is not supported: Sluice keeps the conversation itself; continue it with "
                    + "'previous_response_id' (got \(c.typeName)).", param: "conversation")
        }
        for key in body.keys where !Self.known.contains(key) && !Self.crossing.contains(key) && Self.value(body, key) != nil {
            nativeOnly.add(key)
        }
        instructions = try Self.string(body, "instructions")
        user = try Self.string(body, "user")
        previousResponseID = try Self.string(body, "previous_response_id")
        store = try Self.bool(body, "store") ?? true
        background = try Self.bool(body, "background") ?? false
        stream = try Self.bool(body, "stream") ?? false
        parallelToolCalls = try Self.bool(body, "parallel_tool_calls")
        maxOutputTokens = try Self.positiveInt(body, "max_output_tokens")
        temperature = try Self.number(body, "temperature")
        topP = try Self.number(body, "top_p")
        include = try Self.strings(body, "include")
        reasoning = try Self.object(body, "reasoning")
        if let effort = reasoning?["effort"], !effort.isNull, effort.stringValue == nil {
            throw .invalidRequest("'reasoning.effort' must be a string, got \(effort.typeName).", param: "reasoning.effort")
        }
        text = try Self.object(body, "text")
        try Self.validateText(text)
        metadata = try Self.object(body, "metadata")
        for (key, value) in metadata ?? [:] where value.stringValue == nil {
            throw .invalidRequest("'metadata.\(key)' must be a string, got \(value.typeName).", param: "metadata.\(key)")
        }

        switch Self.value(body, "input") {
        case nil:
            guard previousResponseID != nil || Self.value(body, "prompt") != nil else {
                throw .invalidRequest("Missing required field 'input'.", param: "input")
            }
            input = []
        case .string(let s)?:
            input = [["type": "message", "role": "user", "content": .string(s)]]
        case .array(let items)?:
            if items.isEmpty, previousResponseID == nil, instructions == nil, Self.value(body, "prompt") == nil {
                throw .invalidRequest("'input' must contain at least one item.", param: "input")
            }
            for (i, item) in items.enumerated() { try Self.validateItem(item, at: "input[\(i)]", nativeOnly: &nativeOnly) }
            input = items
        case let other?:
            throw .invalidRequest("'input' must be a string or an array of items, got \(other.typeName).", param: "input")
        }

        tools = []
        if let value = Self.value(body, "tools") {
            guard let list = value.arrayValue else {
                throw .invalidRequest("'tools' must be an array, got \(value.typeName).", param: "tools")
            }
            for (i, tool) in list.enumerated() { try Self.validateTool(tool, at: "tools[\(i)]", nativeOnly: &nativeOnly) }
            tools = list
        }
        toolChoice = Self.value(body, "tool_choice")
        if let choice = toolChoice { try Self.validateToolChoice(choice, nativeOnly: &nativeOnly) }

        if var meta = metadata {
            let sluiceKeys = meta.keys.filter { $0.lowercased().hasPrefix("x-sluice-") }
            if !sluiceKeys.isEmpty {
                for k in sluiceKeys { meta.removeValue(forKey: k) }
                body["metadata"] = meta.count == 0 ? nil : .object(meta)
            }
        }
        self.body = body
        self.nativeOnly = nativeOnly.names
    }

    /// The request for providers that take the Responses API: the body as sent (Sluice's
    /// metadata keys removed) with what no other format can express.
    public var native: NativeRequest {
        NativeRequest(format: .openAIResponses, body: body, nativeOnly: nativeOnly)
    }

    /// `metadata` without Sluice's `x-sluice-*` keys (what a response echoes).
    public var clientMetadata: JSONObject {
        var meta = metadata ?? [:]
        for k in meta.keys where k.lowercased().hasPrefix("x-sluice-") { meta.removeValue(forKey: k) }
        return meta
    }

    /// Collects names once each, in order.
    struct NativeOnlyList {
        var names: [String] = []
        mutating func add(_ name: String) { if !names.contains(name) { names.append(name) } }
    }

    // MARK: Items

    /// The type of an input item: its `type`, or `message` for an item with a `role` and no type.
    static func itemType(_ item: JSON) -> String? {
        item["type"]?.stringValue ?? (item["type"] == nil && item["role"] != nil ? "message" : nil)
    }

    static func validateItem(_ item: JSON, at path: String, nativeOnly: inout NativeOnlyList) throws(SluiceError) {
        guard let obj = item.objectValue else {
            throw .invalidRequest("'\(path)' must be an object, got \(item.typeName).", param: path)
        }
        guard let type = itemType(item) else {
            throw .invalidRequest("'\(path).type' is required (or 'role' for a message).", param: "\(path).type")
        }
        switch type {
        case "message":
            try validateMessage(obj, at: path, nativeOnly: &nativeOnly)
        case "function_call":
            for key in ["call_id", "name", "arguments"] { try requireString(obj, key, at: path) }
        case "function_call_output":
            try requireString(obj, "call_id", at: path)
            switch obj["output"] {
            case .string?: break
            case .array(let parts)?:
                for (j, part) in parts.enumerated() {
                    let partPath = "\(path).output[\(j)]"
                    guard let partType = part["type"]?.stringValue else {
                        throw .invalidRequest("'\(partPath).type' must be a string.", param: "\(partPath).type")
                    }
                    if partType == "input_text" {
                        try requireString(part.objectValue ?? [:], "text", at: partPath)
                    } else {
                        nativeOnly.add("\(partPath) (\(partType))")
                    }
                }
            case let other:
                throw .invalidRequest(
                    "'\(path).output' must be a string or an array of content parts, got \(other?.typeName ?? "nothing").",
                    param: "\(path).output")
            }
        case "reasoning":
            break
        case "item_reference":
            throw .invalidRequest(
                "'\(path)' is an item_reference, which Sluice does not resolve: send the item itself, or continue "
                    + "the conversation with 'previous_response_id'.", param: path)
        default:
            guard builtInItems.contains(type) else {
                throw .invalidRequest("'\(path).type' is '\(type)', which is not an input item type.", param: "\(path).type")
            }
            nativeOnly.add("\(path) (\(type))")
        }
    }

    static func validateMessage(_ obj: JSONObject, at path: String, nativeOnly: inout NativeOnlyList) throws(SluiceError) {
        guard let role = obj["role"]?.stringValue, roles.contains(role) else {
            throw .invalidRequest("'\(path).role' must be user, assistant, system or developer.", param: "\(path).role")
        }
        switch obj["content"] {
        case .string?: return
        case .array(let parts)?:
            for (j, part) in parts.enumerated() {
                let partPath = "\(path).content[\(j)]"
                guard let p = part.objectValue, let partType = p["type"]?.stringValue else {
                    throw .invalidRequest("'\(partPath).type' must be a string.", param: "\(partPath).type")
                }
                switch partType {
                case "input_text", "output_text":
                    try requireString(p, "text", at: partPath)
                case "refusal" where role == "assistant":
                    try requireString(p, "refusal", at: partPath)
                case "input_image":
                    if p["image_url"]?.stringValue != nil { continue }
                    if let f = p["file_id"], !f.isNull {
                        throw .invalidRequest(
                            "'\(partPath).file_id': Sluice does not serve uploaded files; send the image as 'image_url' "
                                + "(an https URL or a data: URL).", param: "\(partPath).file_id")
                    }
                    throw .invalidRequest("'\(partPath).image_url' must be a string.", param: "\(partPath).image_url")
                case "input_file", "input_audio":
                    nativeOnly.add("\(partPath) (\(partType))")
                default:
                    throw .invalidRequest(
                        "'\(partPath).type' is '\(partType)', which is not a content part of a \(role) message.",
                        param: "\(partPath).type")
                }
            }
        case let other:
            throw .invalidRequest(
                "'\(path).content' must be a string or an array of content parts, got \(other?.typeName ?? "nothing").",
                param: "\(path).content")
        }
    }

    // MARK: Tools and formats

    static func validateTool(_ tool: JSON, at path: String, nativeOnly: inout NativeOnlyList) throws(SluiceError) {
        guard let obj = tool.objectValue else {
            throw .invalidRequest("'\(path)' must be an object, got \(tool.typeName).", param: path)
        }
        guard let type = obj["type"]?.stringValue else {
            throw .invalidRequest("'\(path).type' must be a string.", param: "\(path).type")
        }
        guard type == "function" else {
            nativeOnly.add("\(path) (\(type))")
            return
        }
        try requireString(obj, "name", at: path)
        if let p = value(obj, "parameters"), p.objectValue == nil {
            throw .invalidRequest("'\(path).parameters' must be an object, got \(p.typeName).", param: "\(path).parameters")
        }
        if let d = value(obj, "description"), d.stringValue == nil {
            throw .invalidRequest("'\(path).description' must be a string, got \(d.typeName).", param: "\(path).description")
        }
        if let s = value(obj, "strict"), s.boolValue == nil {
            throw .invalidRequest("'\(path).strict' must be a boolean, got \(s.typeName).", param: "\(path).strict")
        }
    }

    static func validateToolChoice(_ choice: JSON, nativeOnly: inout NativeOnlyList) throws(SluiceError) {
        if let s = choice.stringValue {
            guard ["auto", "none", "required"].contains(s) else {
                throw .invalidRequest("'tool_choice' must be auto, none, required or an object, got '\(s)'.", param: "tool_choice")
            }
            return
        }
        guard let obj = choice.objectValue, let type = obj["type"]?.stringValue else {
            throw .invalidRequest("'tool_choice' must be a string or an object with a 'type'.", param: "tool_choice")
        }
        if type == "function" {
            try requireString(obj, "name", at: "tool_choice")
        } else {
            nativeOnly.add("tool_choice (\(type))")
        }
    }

    static func validateText(_ text: JSONObject?) throws(SluiceError) {
        guard let format = text.flatMap({ value($0, "format") }) else { return }
        guard let f = format.objectValue, let type = f["type"]?.stringValue else {
            throw .invalidRequest("'text.format' must be an object with a string 'type'.", param: "text.format")
        }
        switch type {
        case "text", "json_object": break
        case "json_schema":
            try requireString(f, "name", at: "text.format")
            guard f["schema"]?.objectValue != nil else {
                throw .invalidRequest("'text.format.schema' must be an object when type is 'json_schema'.", param: "text.format.schema")
            }
            if let s = value(f, "strict"), s.boolValue == nil {
                throw .invalidRequest("'text.format.strict' must be a boolean, got \(s.typeName).", param: "text.format.strict")
            }
        default:
            throw .invalidRequest("'text.format.type' must be text, json_object or json_schema, got '\(type)'.", param: "text.format.type")
        }
    }

    // MARK: Field readers (null is the same as absent)

    static func value(_ obj: JSONObject, _ key: String) -> JSON? {
        guard let v = obj[key], !v.isNull else { return nil }
        return v
    }

    static func requireString(_ obj: JSONObject, _ key: String, at path: String) throws(SluiceError) {
        guard obj[key]?.stringValue != nil else {
            let got = obj[key].map { ", got \($0.typeName)" } ?? ""
            throw .invalidRequest("'\(path).\(key)' must be a string\(got).", param: "\(path).\(key)")
        }
    }

    static func string(_ obj: JSONObject, _ key: String) throws(SluiceError) -> String? {
        guard let v = value(obj, key) else { return nil }
        guard let s = v.stringValue else { throw .invalidRequest("'\(key)' must be a string, got \(v.typeName).", param: key) }
        return s
    }

    static func bool(_ obj: JSONObject, _ key: String) throws(SluiceError) -> Bool? {
        guard let v = value(obj, key) else { return nil }
        guard let b = v.boolValue else { throw .invalidRequest("'\(key)' must be a boolean, got \(v.typeName).", param: key) }
        return b
    }

    static func number(_ obj: JSONObject, _ key: String) throws(SluiceError) -> JSON? {
        guard let v = value(obj, key) else { return nil }
        guard v.doubleValue != nil else { throw .invalidRequest("'\(key)' must be a number, got \(v.typeName).", param: key) }
        return v
    }

    static func positiveInt(_ obj: JSONObject, _ key: String) throws(SluiceError) -> Int? {
        guard let v = value(obj, key) else { return nil }
        guard let n = v.intValue, n > 0 else {
            throw .invalidRequest("'\(key)' must be a positive integer, got \(v.jsonString).", param: key)
        }
        return n
    }

    static func object(_ obj: JSONObject, _ key: String) throws(SluiceError) -> JSONObject? {
        guard let v = value(obj, key) else { return nil }
        guard let o = v.objectValue else { throw .invalidRequest("'\(key)' must be an object, got \(v.typeName).", param: key) }
        return o
    }

    static func strings(_ obj: JSONObject, _ key: String) throws(SluiceError) -> [String] {
        guard let v = value(obj, key) else { return [] }
        guard let list = v.arrayValue else { throw .invalidRequest("'\(key)' must be an array of strings, got \(v.typeName).", param: key) }
        var out: [String] = []
        for (i, item) in list.enumerated() {
            guard let s = item.stringValue else {
                throw .invalidRequest("'\(key)[\(i)]' must be a string, got \(item.typeName).", param: "\(key)[\(i)]")
            }
            out.append(s)
        }
        return out
    }
}
