import NIOCore
import SluiceCore

/// The wire family a provider speaks; a request in the same family is forwarded
/// with its unknown fields untouched.
public enum APIFamily: String, Sendable {
    case openAI = "openai"
}

/// One request to one upstream target, in OpenAI chat shape.
public struct UpstreamRequest: Sendable {
    /// The body to send; `model` is already the upstream model id.
    public var body: JSONObject
    /// The upstream model id.
    public var model: String
    /// Whether to stream.
    public var stream: Bool
    /// The event loop of the client's connection; a provider that talks to its
    /// upstream from the same loop saves thread hand-offs.
    public var eventLoop: (any EventLoop)?

    /// A request sending `body` for the upstream `model`, streamed or not.
    public init(body: JSONObject, model: String, stream: Bool, eventLoop: (any EventLoop)? = nil) {
        self.body = body
        self.model = model
        self.stream = stream
        self.eventLoop = eventLoop
    }
}

/// A complete (non-streamed) upstream answer.
public struct UpstreamResponse: Sendable {
    /// The bytes to return to an OpenAI-family client.
    public var body: [UInt8]
    /// The parsed body.
    public var json: JSONObject
    /// The upstream HTTP status (2xx).
    public var status: Int
    /// Usage as the provider reported it natively, when its OpenAI form loses detail (cache writes).
    public var reportedUsage: Usage?

    /// An answer from its raw bytes, parsed body and status (200 by default).
    public init(body: [UInt8], json: JSONObject, status: Int = 200, reportedUsage: Usage? = nil) {
        self.body = body
        self.json = json
        self.status = status
        self.reportedUsage = reportedUsage
    }

    /// The pinned model that answered.
    public var answeredModel: String? { json["model"]?.stringValue }
    /// Token usage, if the provider reported it.
    public var usage: Usage? { reportedUsage ?? Usage(openAI: json["usage"]) }
    /// The assistant text of the first choice.
    public var text: String { ChatText.completionText(json) }
}

/// One event of an upstream stream, in OpenAI `chat.completion.chunk` shape.
public struct StreamChunk: Sendable {
    /// The chunk's JSON text, relayed as `data: <raw>`.
    public var raw: [UInt8]
    /// The parsed chunk.
    public var json: JSONObject
    /// Usage as the provider reported it natively, when its OpenAI form loses detail (cache writes).
    public var reportedUsage: Usage?

    /// A chunk from its original text and parsed form.
    public init(raw: [UInt8], json: JSONObject) {
        self.raw = raw
        self.json = json
    }

    /// A chunk built from JSON; `raw` is its serialization.
    public init(json: JSONObject, reportedUsage: Usage? = nil) {
        self.json = json
        self.raw = JSON.object(json).serialized()
        self.reportedUsage = reportedUsage
    }

    /// The usage, when this chunk carries it.
    public var usage: Usage? { reportedUsage ?? Usage(openAI: json["usage"]) }
    /// True for the usage-only chunk OpenAI sends last when `include_usage` is set.
    public var isUsageOnly: Bool {
        (json["choices"]?.arrayValue?.isEmpty ?? true) && usage != nil
    }
}

/// A stream of chunks from one upstream; `next()` returns `nil` at a clean end
/// (`data: [DONE]` or the provider's own end) and throws when the stream breaks.
public protocol ChunkStream: Sendable {
    /// The next chunk, or `nil` at a clean end.
    func next() async throws(ProviderError) -> StreamChunk?
}

/// One upstream account behind one API.
public protocol Provider: Sendable {
    /// The configured provider name (`openai`, `local`, `sim`…).
    var name: String { get }
    /// The wire family.
    var family: APIFamily { get }
    /// Sends a non-streamed request.
    func complete(_ request: UpstreamRequest) async throws(ProviderError) -> UpstreamResponse
    /// Opens a stream; throws before the first chunk if the upstream refuses.
    func stream(_ request: UpstreamRequest) async throws(ProviderError) -> any ChunkStream
    /// Sends an OpenAI-shaped `/embeddings` request; the answer's `json` has `data` and `usage`.
    func embed(_ request: UpstreamRequest) async throws(ProviderError) -> UpstreamResponse
}

extension Provider {
    /// Providers without embeddings refuse with a 400, which ends the call without fallback.
    public func embed(_ request: UpstreamRequest) async throws(ProviderError) -> UpstreamResponse {
        throw ProviderError(.http, status: 400, message: "provider '\(name)' does not serve embeddings")
    }
}
