import NIOCore
import SluiceCore

/// A provider API a client may speak natively. A request that arrived in a format
/// its target's provider takes goes upstream as the client sent it (the "same
/// family, native" rule); translation happens only across formats.
public enum NativeFormat: String, Sendable, Hashable {
    /// Anthropic's Messages API (`POST /v1/messages`).
    case anthropicMessages = "anthropic_messages"
    /// OpenAI's Responses API (`POST /v1/responses`).
    case openAIResponses = "openai_responses"

    /// The name people know the format by, for messages.
    public var displayName: String {
        switch self {
        case .anthropicMessages: "Anthropic Messages API"
        case .openAIResponses: "OpenAI Responses API"
        }
    }
}

/// The client's own request, carried beside its OpenAI-shaped (neutral) form for
/// the providers that take it as it is.
public struct NativeRequest: Sendable {
    /// The API the body is in.
    public var format: NativeFormat
    /// The body as the client sent it (Sluice's own `metadata` keys removed).
    public var body: JSONObject
    /// Client headers passed upstream as they are (`anthropic-beta`), lowercased names.
    public var headers: [(String, String)]
    /// What the request uses that no other format can express (`thinking`, `top_k`,
    /// `messages[0].content[1] (document)`…), in order: when not empty, only targets
    /// whose provider takes `format` can serve it.
    public var nativeOnly: [String]

    /// A native request; see the properties.
    public init(format: NativeFormat, body: JSONObject, headers: [(String, String)] = [], nativeOnly: [String] = []) {
        self.format = format
        self.body = body
        self.headers = headers
        self.nativeOnly = nativeOnly
    }

    /// The body addressed to the upstream `model`, streamed or not.
    public func addressed(to model: String, stream: Bool) -> NativeRequest {
        var out = self
        out.body["model"] = .string(model)
        if stream {
            out.body["stream"] = true
        } else if out.body["stream"] != nil {
            out.body["stream"] = false
        }
        return out
    }
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
    /// The client's own request, for a provider that takes its format (``Provider/nativeFormats``):
    /// it is sent instead of translating `body`, and the answer keeps the upstream's bytes.
    public var native: NativeRequest?

    /// A request sending `body` for the upstream `model`, streamed or not.
    public init(
        body: JSONObject, model: String, stream: Bool, eventLoop: (any EventLoop)? = nil, native: NativeRequest? = nil
    ) {
        self.body = body
        self.model = model
        self.stream = stream
        self.eventLoop = eventLoop
        self.native = native
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
    /// The upstream's own bytes when the request went natively (``UpstreamRequest/native``):
    /// what a client of that format gets, while `json` serves the gateway's policies.
    public var native: [UInt8]?

    /// An answer from its raw bytes, parsed body and status (200 by default).
    public init(body: [UInt8], json: JSONObject, status: Int = 200, reportedUsage: Usage? = nil, native: [UInt8]? = nil) {
        self.body = body
        self.json = json
        self.status = status
        self.reportedUsage = reportedUsage
        self.native = native
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
    /// On a native stream (``UpstreamRequest/native``): the SSE bytes of the upstream
    /// event(s) that produced this chunk (`event: …\ndata: …\n\n`), written as they are to a
    /// client of that format; empty when the event's bytes went with an earlier chunk.
    /// A chunk of a native stream may carry no OpenAI content at all (`json` empty: a
    /// ping, a thinking delta).
    public var native: [UInt8]?

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
    /// True when ``next()`` can answer from bytes already received (a chunk, the end, or an
    /// error), without waiting on the network. Surfaces use it to write the chunks of one
    /// upstream read in one write. Called by the task that calls ``next()``.
    func hasReadyChunk() -> Bool
}

extension ChunkStream {
    /// By default a stream never claims a ready chunk: every chunk is written on its own.
    public func hasReadyChunk() -> Bool { false }
}

/// One upstream account behind one API.
public protocol Provider: Sendable {
    /// The configured provider name (`openai`, `local`, `sim`…).
    var name: String { get }
    /// The client formats it takes natively (``UpstreamRequest/native``); empty for a
    /// provider that only takes the OpenAI-shaped body.
    var nativeFormats: Set<NativeFormat> { get }
    /// The provider's pool of keys (`api_keys:`), whose states `/admin/breakers` and `/metrics` show; `nil` without one.
    var keyPool: SharedKeyPool? { get }
    /// Sends a non-streamed request.
    func complete(_ request: UpstreamRequest) async throws(ProviderError) -> UpstreamResponse
    /// Opens a stream; throws before the first chunk if the upstream refuses.
    func stream(_ request: UpstreamRequest) async throws(ProviderError) -> any ChunkStream
    /// Sends an OpenAI-shaped `/embeddings` request; the answer's `json` has `data` and `usage`.
    func embed(_ request: UpstreamRequest) async throws(ProviderError) -> UpstreamResponse
    /// Sends an OpenAI-shaped `/moderations` request (`model`, `input`); the answer's `json` has `results`.
    func moderate(_ request: UpstreamRequest) async throws(ProviderError) -> UpstreamResponse
}

extension Provider {
    /// Only the OpenAI-shaped body, by default.
    public var nativeFormats: Set<NativeFormat> { [] }

    /// No key pool, by default.
    public var keyPool: SharedKeyPool? { nil }

    /// Providers without a moderation endpoint refuse with a 400.
    public func moderate(_ request: UpstreamRequest) async throws(ProviderError) -> UpstreamResponse {
        throw ProviderError(.http, status: 400, message: "provider '\(name)' does not serve moderations")
    }

    /// Providers without embeddings refuse with a 400, which ends the call without fallback.
    public func embed(_ request: UpstreamRequest) async throws(ProviderError) -> UpstreamResponse {
        throw ProviderError(.http, status: 400, message: "provider '\(name)' does not serve embeddings")
    }
}
