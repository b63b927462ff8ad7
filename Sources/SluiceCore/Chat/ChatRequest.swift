/// An OpenAI-shaped chat completion request, decoded once from the client's bytes.
///
/// The body stays a ``JSONObject`` so that fields Sluice does not know are
/// forwarded untouched; the typed accessors read the fields Sluice acts on.
/// ``init(body:)`` validates the types of every field the OpenAI API documents
/// and throws a 400 ``SluiceError`` naming the field.
public struct ChatRequest: Sendable {
    /// The request body, with Sluice's own metadata keys removed.
    public var body: JSONObject
    /// The model name the client asked for.
    public var model: String
    /// Whether the client asked for a stream.
    public var stream: Bool
    /// Whether the client asked for a final usage chunk (`stream_options.include_usage`).
    public var clientWantsUsage: Bool
    /// Sluice attribution keys found in `metadata` (lowercased header names), removed from ``body``.
    public var sluiceMetadata: [String: String]

    /// Validates and decodes a request body.
    public init(body json: JSON) throws(SluiceError) {
        guard var body = json.objectValue else {
            throw .invalidRequest("The request body must be a JSON object, got \(json.typeName).")
        }
        guard let modelValue = body["model"] else {
            throw .invalidRequest("Missing required field 'model'.", param: "model")
        }
        guard let model = modelValue.stringValue, !model.isEmpty else {
            throw .invalidRequest("'model' must be a non-empty string, got \(modelValue.typeName).", param: "model")
        }
        try Self.validateMessages(body["messages"])
        try Self.check(body, "stream", as: .boolean)
        try Self.check(body, "temperature", as: .number)
        try Self.check(body, "top_p", as: .number)
        try Self.check(body, "frequency_penalty", as: .number)
        try Self.check(body, "presence_penalty", as: .number)
        try Self.check(body, "max_tokens", as: .integer)
        try Self.check(body, "max_completion_tokens", as: .integer)
        try Self.check(body, "n", as: .integer)
        try Self.check(body, "seed", as: .integer)
        try Self.check(body, "user", as: .string)
        try Self.check(body, "tools", as: .array)
        try Self.check(body, "response_format", as: .object)
        try Self.check(body, "stream_options", as: .object)
        try Self.check(body, "metadata", as: .object)
        if let stop = body["stop"], !stop.isNull, stop.stringValue == nil {
            guard let items = stop.arrayValue, items.allSatisfy({ $0.stringValue != nil }) else {
                throw .invalidRequest("'stop' must be a string or an array of strings, got \(stop.typeName).", param: "stop")
            }
        }
        if let choice = body["tool_choice"], choice.stringValue == nil, choice.objectValue == nil, !choice.isNull {
            throw .invalidRequest("'tool_choice' must be a string or an object, got \(choice.typeName).", param: "tool_choice")
        }
        if let n = body["n"]?.intValue, n < 1 || n > 128 {
            throw .invalidRequest("'n' must be between 1 and 128, got \(n).", param: "n")
        }
        if let format = body["response_format"]?.objectValue {
            guard let type = format["type"]?.stringValue else {
                throw .invalidRequest("'response_format.type' must be a string.", param: "response_format.type")
            }
            if type == "json_schema", format["json_schema"]?.objectValue == nil {
                throw .invalidRequest(
                    "'response_format.json_schema' must be an object when type is 'json_schema'.",
                    param: "response_format.json_schema")
            }
        }
        if let include = body["stream_options"]?["include_usage"], include.boolValue == nil, !include.isNull {
            throw .invalidRequest(
                "'stream_options.include_usage' must be a boolean, got \(include.typeName).",
                param: "stream_options.include_usage")
        }

        let sluiceMeta = try Self.takeSluiceMetadata(&body)

        self.body = body
        self.model = model
        self.stream = body["stream"]?.boolValue ?? false
        self.clientWantsUsage = body["stream_options"]?["include_usage"]?.boolValue ?? false
        self.sluiceMetadata = sluiceMeta
    }

    /// Removes the `x-sluice-*` keys from `metadata` (dropping it when nothing else is left) and returns them lowercased.
    static func takeSluiceMetadata(_ body: inout JSONObject) throws(SluiceError) -> [String: String] {
        var found: [String: String] = [:]
        guard var meta = body["metadata"]?.objectValue else { return found }
        for key in meta.keys where key.lowercased().hasPrefix("x-sluice-") {
            let value = meta.removeValue(forKey: key)
            guard let s = value?.stringValue else {
                throw .invalidRequest("'metadata.\(key)' must be a string.", param: "metadata.\(key)")
            }
            found[key.lowercased()] = s
        }
        body["metadata"] = meta.count == 0 ? nil : .object(meta)
        return found
    }

    /// The `user` field of the body, if any.
    public var user: String? { body["user"]?.stringValue }

    /// The messages array.
    public var messages: [JSON] { body["messages"]?.arrayValue ?? [] }

    /// The sampling parameters that shape an answer (everything but messages,
    /// stream flags and metadata), for the call record and cache keys.
    public var params: JSONObject {
        var p = body
        for k in ["messages", "stream", "stream_options", "metadata", "user"] { p.removeValue(forKey: k) }
        return p
    }

    enum Kind: String { case boolean, number, integer, string, array, object }

    static func check(_ body: JSONObject, _ key: String, as kind: Kind) throws(SluiceError) {
        guard let v = body[key], !v.isNull else { return }
        let ok: Bool
        switch kind {
        case .boolean: ok = v.boolValue != nil
        case .number: ok = v.doubleValue != nil
        case .integer: ok = v.intValue != nil
        case .string: ok = v.stringValue != nil
        case .array: ok = v.arrayValue != nil
        case .object: ok = v.objectValue != nil
        }
        if !ok {
            let article = kind == .integer || kind == .array || kind == .object ? "an" : "a"
            throw .invalidRequest("'\(key)' must be \(article) \(kind.rawValue), got \(v.typeName).", param: key)
        }
    }

    static let roles: Set<String> = ["system", "developer", "user", "assistant", "tool", "function"]

    static func validateMessages(_ value: JSON?) throws(SluiceError) {
        guard let value else { throw .invalidRequest("Missing required field 'messages'.", param: "messages") }
        guard let messages = value.arrayValue else {
            throw .invalidRequest("'messages' must be an array, got \(value.typeName).", param: "messages")
        }
        if messages.isEmpty { throw .invalidRequest("'messages' must contain at least one message.", param: "messages") }
        for (i, m) in messages.enumerated() {
            guard let msg = m.objectValue else {
                throw .invalidRequest("'messages[\(i)]' must be an object, got \(m.typeName).", param: "messages[\(i)]")
            }
            guard let role = msg["role"]?.stringValue else {
                throw .invalidRequest("'messages[\(i)].role' must be a string.", param: "messages[\(i)].role")
            }
            guard roles.contains(role) else {
                throw .invalidRequest(
                    "'messages[\(i)].role' is '\(role)'; expected one of system, developer, user, assistant, tool.",
                    param: "messages[\(i)].role")
            }
            if let content = msg["content"], !content.isNull, content.stringValue == nil, content.arrayValue == nil {
                throw .invalidRequest(
                    "'messages[\(i)].content' must be a string or an array of content parts, got \(content.typeName).",
                    param: "messages[\(i)].content")
            }
        }
    }
}
