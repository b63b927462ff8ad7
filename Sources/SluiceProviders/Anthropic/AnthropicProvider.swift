import AsyncHTTPClient
import Foundation
import NIOCore
import SluiceCore

/// Anthropic's Messages API. OpenAI-shaped requests are translated on the way out,
/// answers and stream events on the way back; a request from an Anthropic client
/// (``UpstreamRequest/native``) goes as the client sent it, and its answer keeps the
/// upstream's bytes beside the OpenAI shape the gateway's policies read.
public struct AnthropicProvider: Provider {
    /// How to reach Anthropic.
    public struct Settings: Sendable {
        /// The API root, default `https://api.anthropic.com/v1`.
        public var baseURL: String
        /// Sent as `x-api-key`.
        public var apiKey: String?
        /// The `anthropic-version` header.
        public var version: String
        /// Extra headers on every request.
        public var headers: [(String, String)]
        /// Whole-request timeout.
        public var timeout: TimeAmount
        /// Several keys to spread calls over by their rate limits (`api_keys:`); when set, each
        /// request carries one of its keys instead of `apiKey`.
        public var keyPool: SharedKeyPool?

        /// Settings with trailing slashes stripped from `baseURL`.
        public init(
            baseURL: String = "https://api.anthropic.com/v1", apiKey: String?, version: String = "2023-06-01",
            headers: [(String, String)] = [], timeout: TimeAmount = .seconds(600), keyPool: SharedKeyPool? = nil
        ) {
            var url = baseURL
            while url.hasSuffix("/") { url.removeLast() }
            self.baseURL = url
            self.apiKey = apiKey
            self.version = version
            self.headers = headers
            self.timeout = timeout
            self.keyPool = keyPool
        }
    }

    /// The configured provider name.
    public let name: String
    /// Messages requests from Anthropic clients go upstream as they are; everything else is translated.
    public var nativeFormats: Set<NativeFormat> { [.anthropicMessages] }
    /// The `api_keys:` pool, when configured.
    public var keyPool: SharedKeyPool? { settings.keyPool }
    let settings: Settings
    let clients: HTTPClients

    /// A provider named `name` sending through `clients`.
    public init(name: String, settings: Settings, clients: HTTPClients) {
        self.name = name
        self.settings = settings
        self.clients = clients
    }

    /// The Messages body for `request`: the client's own when it came natively (only
    /// `model` and `stream` set), else the OpenAI body translated.
    static func body(for request: UpstreamRequest) throws(ProviderError) -> JSONObject {
        if let native = request.native, native.format == .anthropicMessages {
            return native.addressed(to: request.model, stream: request.stream).body
        }
        return try AnthropicRequest.translate(request.body, model: request.model)
    }

    func send(_ request: UpstreamRequest) async throws(ProviderError) -> HTTPClientResponse {
        let body = try Self.body(for: request)
        var req = UpstreamCall(url: settings.baseURL + "/messages")
        req.headers.add(name: "content-type", value: "application/json")
        req.headers.add(name: "anthropic-version", value: settings.version)
        if settings.keyPool == nil, let key = settings.apiKey { req.headers.add(name: "x-api-key", value: key) }
        if request.stream { req.headers.add(name: "accept", value: "text/event-stream") }
        for (k, v) in settings.headers { req.headers.add(name: k, value: v) }
        if let native = request.native, native.format == .anthropicMessages {
            // The client's betas join the configured ones (one comma-separated header).
            for (k, v) in native.headers {
                if let configured = req.headers.first(name: k), !configured.isEmpty {
                    req.headers.replaceOrAdd(name: k, value: configured + "," + v)
                } else {
                    req.headers.replaceOrAdd(name: k, value: v)
                }
            }
        }
        req.body = ByteBuffer(bytes: JSON.object(body).serialized())
        return try await UpstreamHTTP.send(
            req, pool: settings.keyPool, header: KeyHeader(name: "x-api-key"), clients: clients, loop: request.eventLoop,
            timeout: settings.timeout, secret: settings.apiKey)
    }

    /// A Messages call answered as a `chat.completion`; a native request's answer keeps the upstream's bytes too.
    public func complete(_ request: UpstreamRequest) async throws(ProviderError) -> UpstreamResponse {
        let response = try await send(request)
        let bytes = try await UpstreamHTTP.body(of: response)
        guard let json = try? JSON.parse(bytes), let message = json.objectValue, message["content"] != nil else {
            throw ProviderError(.invalidResponse, status: Int(response.status.code), message: "upstream answered with a body that is not an Anthropic message")
        }
        let (completion, usage) = AnthropicResponse.completion(message, created: Int(Date().timeIntervalSince1970))
        return UpstreamResponse(
            body: JSON.object(completion).serialized(), json: completion, reportedUsage: usage,
            native: request.native?.format == .anthropicMessages ? bytes : nil)
    }

    /// A streamed Messages call as OpenAI chunks; on a native request each upstream event
    /// is one chunk carrying the event's bytes.
    public func stream(_ request: UpstreamRequest) async throws(ProviderError) -> any ChunkStream {
        AnthropicChunkStream(
            body: try await send(request).body, created: Int(Date().timeIntervalSince1970),
            native: request.native?.format == .anthropicMessages)
    }
}

/// Reads an Anthropic SSE body and yields OpenAI chunks; a body that ends before `message_stop` is an error.
/// Natively, every event becomes one chunk (an empty one for events with no OpenAI
/// content: pings, thinking and signature deltas) holding the event's SSE bytes.
final class AnthropicChunkStream: ChunkStream, @unchecked Sendable {
    // One relay task calls `next()` serially.
    private var reader: SSEBodyReader
    private var translator: AnthropicStreamTranslator
    private let native: Bool
    private var pending: [StreamChunk] = []
    private var done = false

    init(body: HTTPClientResponse.Body, created: Int, native: Bool = false) {
        reader = SSEBodyReader(body: body)
        translator = AnthropicStreamTranslator(created: created)
        self.native = native
    }

    /// The chunks of one upstream event are ready together; a new event may need more reads.
    func hasReadyChunk() -> Bool { !pending.isEmpty || done }

    func next() async throws(ProviderError) -> StreamChunk? {
        while true {
            if !pending.isEmpty { return pending.removeFirst() }
            if done { return nil }
            guard let event = try await reader.next() else {
                throw ProviderError(.connection, message: "upstream stream ended before message_stop")
            }
            guard let obj = (try? JSON.parse(event.data))?.objectValue else {
                throw ProviderError(.invalidResponse, message: "upstream sent a stream event that is not JSON")
            }
            let (chunks, end) = try translator.translate(obj)
            let usage = translator.usage
            var out = chunks.map { StreamChunk(json: $0, reportedUsage: $0["usage"] == nil ? nil : usage) }
            if native {
                if out.isEmpty { out = [StreamChunk(raw: Array("{}".utf8), json: [:])] }
                out[0].native = Self.frame(event)
                for i in out.indices.dropFirst() { out[i].native = [] }
            }
            pending += out
            done = end
        }
    }

    /// The SSE bytes of `event` as the upstream framed it: `event: NAME` and one `data:` line per line of data.
    static func frame(_ event: SSEDecoder.Event) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(event.data.count + 32)
        if let name = event.event { out += Array("event: \(name)\n".utf8) }
        for line in event.data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            out += Array("data: ".utf8)
            out += line
            out.append(0x0A)
        }
        out.append(0x0A)
        return out
    }
}
