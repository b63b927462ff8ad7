/// An OpenAI-shaped `/v1/embeddings` request, validated once. Unknown fields
/// stay in ``body`` and are forwarded untouched.
public struct EmbeddingRequest: Sendable {
    /// The request body, with Sluice's own metadata keys removed.
    public var body: JSONObject
    /// The model name the client asked for.
    public var model: String
    /// The inputs as texts (token-array inputs are kept in ``body`` and counted here as their JSON).
    public var inputs: [String]
    /// Sluice attribution keys found in `metadata` (lowercased header names).
    public var sluiceMetadata: [String: String]

    /// The most inputs one request may carry (OpenAI's limit).
    public static let maxInputs = 2048

    /// Validates and decodes a request body; a 400 names the field at fault.
    public init(body json: JSON) throws(SluiceError) {
        guard var body = json.objectValue else {
            throw .invalidRequest("The request body must be a JSON object, got \(json.typeName).")
        }
        guard let modelValue = body["model"] else { throw .invalidRequest("Missing required field 'model'.", param: "model") }
        guard let model = modelValue.stringValue, !model.isEmpty else {
            throw .invalidRequest("'model' must be a non-empty string, got \(modelValue.typeName).", param: "model")
        }
        guard let input = body["input"] else { throw .invalidRequest("Missing required field 'input'.", param: "input") }
        inputs = try Self.texts(input)
        try ChatRequest.check(body, "dimensions", as: .integer)
        try ChatRequest.check(body, "user", as: .string)
        try ChatRequest.check(body, "metadata", as: .object)
        if let d = body["dimensions"]?.intValue, d < 1 || d > 65_536 {
            throw .invalidRequest("'dimensions' must be between 1 and 65536, got \(d).", param: "dimensions")
        }
        if let format = body["encoding_format"], !format.isNull, !["float", "base64"].contains(format.stringValue ?? "") {
            throw .invalidRequest("'encoding_format' must be 'float' or 'base64'.", param: "encoding_format")
        }
        sluiceMetadata = try ChatRequest.takeSluiceMetadata(&body)
        self.body = body
        self.model = model
    }

    /// `input` as a string, an array of strings, an array of token ids or an array of token-id arrays.
    static func texts(_ input: JSON) throws(SluiceError) -> [String] {
        if let s = input.stringValue {
            guard !s.isEmpty else { throw .invalidRequest("'input' must not be empty.", param: "input") }
            return [s]
        }
        guard let items = input.arrayValue, !items.isEmpty else {
            throw .invalidRequest(
                "'input' must be a non-empty string or a non-empty array of strings or token arrays, got \(input.typeName).",
                param: "input")
        }
        guard items.count <= maxInputs else {
            throw .invalidRequest("'input' has \(items.count) items; at most \(maxInputs) are allowed.", param: "input")
        }
        if items.allSatisfy({ $0.intValue != nil }) { return [input.jsonString] }
        var out: [String] = []
        out.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            if let s = item.stringValue, !s.isEmpty {
                out.append(s)
            } else if let tokens = item.arrayValue, !tokens.isEmpty, tokens.allSatisfy({ $0.intValue != nil }) {
                out.append(item.jsonString)
            } else {
                throw .invalidRequest(
                    "'input[\(i)]' must be a non-empty string or a non-empty array of token ids, got \(item.typeName).",
                    param: "input[\(i)]")
            }
        }
        return out
    }

    /// The `user` field of the body, if any.
    public var user: String? { body["user"]?.stringValue }

    /// Everything but the inputs, metadata and user, for the call record.
    public var params: JSONObject {
        var p = body
        for k in ["input", "metadata", "user"] { p.removeValue(forKey: k) }
        return p
    }
}
