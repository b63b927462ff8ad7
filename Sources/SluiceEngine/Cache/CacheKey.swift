import SluiceCore

/// What a cached answer is keyed on. The exact key covers the prompt (name,
/// version and content hash), the purpose, the model name, the messages and every
/// request parameter that shapes the answer (sampling, tools, response_format…).
/// The semantic scope is the same without the user messages, whose text is embedded instead.
public struct CacheKey: Sendable, Equatable {
    /// SHA-256 hex of everything.
    public let exact: String
    /// Everything but the messages, and the messages.
    private let head: JSONObject
    private let messages: [JSON]

    /// Request fields that never change the answer.
    static let ignored: Set<String> = ["messages", "stream", "stream_options", "metadata", "user", "model"]

    /// The key of a chat `body` sent as `model` for `purpose`, rendered from `prompt` when given.
    /// Only the exact key is computed here; a cache hit needs nothing else.
    public init(purpose: String, model: String, body: JSONObject, prompt: PromptRef?) {
        var params = JSONObject()
        for (k, v) in body where !Self.ignored.contains(k) { params[k] = v }
        messages = body["messages"]?.arrayValue ?? []
        head = [
            "purpose": .string(purpose), "model": .string(model), "params": .object(params),
            "prompt": prompt.map { ["name": .string($0.name), "version": .string($0.version), "hash": .string($0.contentHash)] } ?? .null,
        ]
        var exactMaterial = head
        exactMaterial["messages"] = .array(messages)
        exact = Hashing.sha256Hex(JSON.object(exactMaterial).canonicalBytes)
    }

    /// SHA-256 hex of everything but the user messages' text (the semantic scope).
    public var scope: String {
        var material = head
        material["messages"] = .array(messages.map { $0["role"]?.stringValue == "user" ? ["role": "user"] : $0 })
        return Hashing.sha256Hex(JSON.object(material).canonicalBytes)
    }

    /// The user messages' text, for the semantic cache.
    public var userText: String {
        messages.filter { $0["role"]?.stringValue == "user" }.map { ChatText.content($0["content"]) }.joined(separator: "\n")
    }
}

/// The prompt a call rendered: what its record and cache key carry.
public struct PromptRef: Sendable, Equatable {
    /// The prompt name.
    public var name: String
    /// The version rendered.
    public var version: String
    /// The prompt's ``Prompt/contentHash``.
    public var contentHash: String

    /// A reference to `prompt`.
    public init(_ prompt: Prompt) {
        name = prompt.name
        version = prompt.version
        contentHash = prompt.contentHash
    }
}
