import AsyncHTTPClient
import Foundation
import NIOCore
import SluiceCore

/// Anthropic's Messages API behind the OpenAI chat shape: requests are
/// translated on the way out, answers and stream events on the way back.
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

        /// Settings with trailing slashes stripped from `baseURL`.
        public init(
            baseURL: String = "https://api.anthropic.com/v1", apiKey: String?, version: String = "2023-06-01",
            headers: [(String, String)] = [], timeout: TimeAmount = .seconds(600)
        ) {
            var url = baseURL
            while url.hasSuffix("/") { url.removeLast() }
            self.baseURL = url
            self.apiKey = apiKey
            self.version = version
            self.headers = headers
            self.timeout = timeout
        }
    }

    /// The configured provider name.
    public let name: String
    /// Requests arrive in OpenAI shape and are translated.
    public var family: APIFamily { .openAI }
    let settings: Settings
    let clients: HTTPClients

    /// A provider named `name` sending through `clients`.
    public init(name: String, settings: Settings, clients: HTTPClients) {
        self.name = name
        self.settings = settings
        self.clients = clients
    }

    func send(_ request: UpstreamRequest) async throws(ProviderError) -> HTTPClientResponse {
        let body = try AnthropicRequest.translate(request.body, model: request.model)
        var req = UpstreamCall(url: settings.baseURL + "/messages")
        req.headers.add(name: "content-type", value: "application/json")
        req.headers.add(name: "anthropic-version", value: settings.version)
        if let key = settings.apiKey { req.headers.add(name: "x-api-key", value: key) }
        if request.stream { req.headers.add(name: "accept", value: "text/event-stream") }
        for (k, v) in settings.headers { req.headers.add(name: k, value: v) }
        req.body = ByteBuffer(bytes: JSON.object(body).serialized())
        return try await UpstreamHTTP.send(
            req, clients: clients, loop: request.eventLoop, whole: !request.stream, timeout: settings.timeout, secret: settings.apiKey)
    }

    /// A Messages call answered as a `chat.completion`.
    public func complete(_ request: UpstreamRequest) async throws(ProviderError) -> UpstreamResponse {
        let response = try await send(request)
        let bytes = try await UpstreamHTTP.body(of: response)
        guard let json = try? JSON.parse(bytes), let message = json.objectValue, message["content"] != nil else {
            throw ProviderError(.invalidResponse, status: Int(response.status.code), message: "upstream answered with a body that is not an Anthropic message")
        }
        let (completion, usage) = AnthropicResponse.completion(message, created: Int(Date().timeIntervalSince1970))
        return UpstreamResponse(body: JSON.object(completion).serialized(), json: completion, reportedUsage: usage)
    }

    /// A streamed Messages call as OpenAI chunks.
    public func stream(_ request: UpstreamRequest) async throws(ProviderError) -> any ChunkStream {
        AnthropicChunkStream(body: try await send(request).body, created: Int(Date().timeIntervalSince1970))
    }
}

/// Reads an Anthropic SSE body and yields OpenAI chunks; a body that ends before `message_stop` is an error.
final class AnthropicChunkStream: ChunkStream, @unchecked Sendable {
    // One relay task calls `next()` serially.
    private var reader: SSEBodyReader
    private var translator: AnthropicStreamTranslator
    private var pending: [StreamChunk] = []
    private var done = false

    init(body: HTTPClientResponse.Body, created: Int) {
        reader = SSEBodyReader(body: body)
        translator = AnthropicStreamTranslator(created: created)
    }

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
            pending += chunks.map { StreamChunk(json: $0, reportedUsage: $0["usage"] == nil ? nil : usage) }
            done = end
        }
    }
}
