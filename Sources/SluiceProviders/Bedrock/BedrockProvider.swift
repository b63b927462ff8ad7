import AsyncHTTPClient
import Foundation
import NIOCore
import SluiceCore

/// AWS Bedrock's Converse and ConverseStream APIs (`POST /model/{modelId}/converse`,
/// `/converse-stream`) behind the OpenAI chat shape, every request SigV4-signed for the
/// service `bedrock`. Chat completions, `/v1/messages` and the Responses API reach it through
/// the Engine's translation to the neutral chat shape.
public struct BedrockProvider: Provider {
    /// How to reach one Bedrock runtime endpoint.
    public struct Settings: Sendable {
        /// The AWS region (`us-east-1`), part of the signature's scope and the default endpoint.
        public var region: String
        /// Who signs.
        public var credentials: AWSCredentials
        /// The endpoint root without a trailing slash; default `https://bedrock-runtime.{region}.amazonaws.com`.
        public var baseURL: String
        /// Extra headers sent on every request (not signed).
        public var headers: [(String, String)]
        /// The whole-request timeout.
        public var timeout: TimeAmount
        /// The clock that dates each signature (`X-Amz-Date`).
        public var clock: any WallClock
        /// Several credential sets (`credentials:`), chosen per request like an API key pool;
        /// empty: `credentials` alone signs.
        public var pool: [PooledCredentials] = []

        /// Settings for `region`; `baseURL` `nil` means the region's public endpoint.
        public init(
            region: String, credentials: AWSCredentials, baseURL: String? = nil, headers: [(String, String)] = [],
            timeout: TimeAmount = .seconds(600), clock: any WallClock = SystemClock()
        ) {
            var url = baseURL ?? Self.defaultBaseURL(region: region)
            while url.hasSuffix("/") { url.removeLast() }
            self.region = region
            self.credentials = credentials
            self.baseURL = url
            self.headers = headers
            self.timeout = timeout
            self.clock = clock
        }

        /// `https://bedrock-runtime.{region}.amazonaws.com`.
        public static func defaultBaseURL(region: String) -> String { "https://bedrock-runtime.\(region).amazonaws.com" }
    }

    /// One named credential set of a pool.
    public struct PooledCredentials: Sendable {
        /// Its name, shown in `/admin/breakers`, `/metrics` and call records (never the keys).
        public var name: String
        /// The keys.
        public var credentials: AWSCredentials
        /// Its share of the calls among the sets with room.
        public var weight: Double

        /// A named set.
        public init(name: String, credentials: AWSCredentials, weight: Double = 1) {
            self.name = name
            self.credentials = credentials
            self.weight = weight
        }
    }

    /// The configured provider name.
    public let name: String
    let settings: Settings
    let clients: HTTPClients
    let signer: SigV4Signer
    /// One signer per pooled credential set, in pool order.
    let signers: [SigV4Signer]
    /// The credential sets' pool; `nil` without `credentials:`.
    public let keyPool: SharedKeyPool?

    /// A provider named `name` sending through `clients`.
    public init(name: String, settings: Settings, clients: HTTPClients) {
        self.name = name
        self.settings = settings
        self.clients = clients
        self.signer = SigV4Signer(service: "bedrock", region: settings.region, credentials: settings.credentials)
        signers = settings.pool.map { SigV4Signer(service: "bedrock", region: settings.region, credentials: $0.credentials) }
        keyPool = settings.pool.isEmpty
            ? nil
            : SharedKeyPool(
                provider: name,
                keys: settings.pool.map { .init(name: $0.name, secret: $0.credentials.secretAccessKey, weight: $0.weight) },
                clock: settings.clock)
    }

    /// What never appears in an error message.
    var secrets: [String] {
        ([settings.credentials] + settings.pool.map(\.credentials)).flatMap { [$0.secretAccessKey] + ($0.sessionToken.map { [$0] } ?? []) }
    }

    /// `{base}/model/{modelId}/{operation}`, the model id percent-encoded as AWS does (`:` → `%3A`).
    func url(model: String, operation: String) -> String {
        settings.baseURL + "/model/" + SigV4Signer.percentEncode(model) + "/" + operation
    }

    /// Signs and sends a Converse body; a transport failure or a non-2xx answer throws. With a
    /// credential pool, a set with room signs; a throttled set cools down and the request goes
    /// again at once signed by another set with room (``send(_:body:operation:pool:)``).
    func send(_ request: UpstreamRequest, body: JSONObject, operation: String) async throws(ProviderError) -> HTTPClientResponse {
        if let keyPool { return try await send(request, body: body, operation: operation, pool: keyPool) }
        return try await send(request, body: body, operation: operation, signer: signer)
    }

    /// One signed exchange.
    func send(_ request: UpstreamRequest, body: JSONObject, operation: String, signer: SigV4Signer) async throws(ProviderError)
        -> HTTPClientResponse
    {
        let url = url(model: request.model, operation: operation)
        let bytes = JSON.object(body).serialized()
        var own: [(String, String)] = [("content-type", "application/json")]
        own.append(("accept", request.stream ? "application/vnd.amazon.eventstream" : "application/json"))
        let auth = signer.sign(method: "POST", url: url, headers: own, body: bytes, date: settings.clock.now())
        var req = HTTPClientRequest(url: url)
        req.method = .POST
        for (k, v) in own + auth { req.headers.add(name: k, value: v) }
        for (k, v) in settings.headers { req.headers.add(name: k, value: v) }
        for (k, v) in UpstreamTraceHeaders.current { req.headers.replaceOrAdd(name: k, value: v) }
        req.body = .bytes(ByteBuffer(bytes: bytes))
        let response: HTTPClientResponse
        do {
            response = try await clients.client(for: request.eventLoop).execute(req, timeout: settings.timeout)
        } catch {
            throw OpenAIProvider.mapTransportError(error)
        }
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            let body = (try? await response.body.collect(upTo: 1 << 20)).map { Array($0.readableBytesView) } ?? []
            throw BedrockError.http(status: status, body: body, headers: response.headers, secrets: secrets)
        }
        return response
    }

    /// Sends with a credential set of `pool`; see ``send(_:body:operation:)``.
    func send(_ request: UpstreamRequest, body: JSONObject, operation: String, pool: SharedKeyPool) async throws(ProviderError)
        -> HTTPClientResponse
    {
        try await pool.rotating(noun: "credentials") { choice async throws(ProviderError) in
            let response = try await send(request, body: body, operation: operation, signer: signers[choice.index])
            return (response, Int(response.status.code))
        }
    }

    /// A Converse call answered as a `chat.completion`.
    public func complete(_ request: UpstreamRequest) async throws(ProviderError) -> UpstreamResponse {
        let response = try await send(request, body: try BedrockRequest.translate(request.body), operation: "converse")
        let bytes = try await UpstreamHTTP.body(of: response)
        guard let obj = (try? JSON.parse(bytes))?.objectValue, obj["output"]?["message"] != nil else {
            throw ProviderError(.invalidResponse, status: 200, message: "upstream answered with a body that is not a Converse response")
        }
        let (completion, usage) = BedrockResponse.completion(
            obj, model: request.model, requestID: response.headers.first(name: "x-amzn-requestid"),
            created: Int(settings.clock.now().timeIntervalSince1970))
        return UpstreamResponse(body: JSON.object(completion).serialized(), json: completion, reportedUsage: usage)
    }

    /// A ConverseStream call as OpenAI chunks.
    public func stream(_ request: UpstreamRequest) async throws(ProviderError) -> any ChunkStream {
        let response = try await send(request, body: try BedrockRequest.translate(request.body), operation: "converse-stream")
        let id = "chatcmpl-bedrock" + (response.headers.first(name: "x-amzn-requestid").map { "-" + $0 } ?? "")
        return BedrockChunkStream(
            body: response.body,
            translator: BedrockStreamTranslator(id: id, model: request.model, created: Int(settings.clock.now().timeIntervalSince1970)),
            secrets: secrets)
    }
}

/// Reads a ConverseStream body (event-stream frames) and yields OpenAI chunks. A bad CRC, a
/// malformed frame or a body that ends before `messageStop` is a cut stream (a retryable
/// connection failure); an `exception` frame is the error it names.
final class BedrockChunkStream: ChunkStream, @unchecked Sendable {
    // One relay task calls `next()` serially.
    private var iterator: HTTPClientResponse.Body.AsyncIterator
    private var decoder = EventStreamDecoder()
    private var translator: BedrockStreamTranslator
    private let secrets: [String]
    private var pending: [StreamChunk] = []
    private var ended = false
    private var done = false

    init(body: HTTPClientResponse.Body, translator: BedrockStreamTranslator, secrets: [String]) {
        iterator = body.makeAsyncIterator()
        self.translator = translator
        self.secrets = secrets
    }

    func next() async throws(ProviderError) -> StreamChunk? {
        while true {
            if !pending.isEmpty { return pending.removeFirst() }
            if done { return nil }
            let message: EventStreamDecoder.Message?
            do {
                message = try decoder.next()
            } catch {
                throw ProviderError(.connection, message: "upstream stream is corrupt: \(error.description)")
            }
            if let message {
                try handle(message)
                continue
            }
            if ended {
                guard translator.stopped, decoder.pendingBytes == 0 else {
                    throw ProviderError(.connection, message: "upstream stream ended before messageStop")
                }
                done = true
                return StreamChunk(json: translator.usageChunk(), reportedUsage: translator.usage)
            }
            let buffer: ByteBuffer?
            do {
                buffer = try await iterator.next()
            } catch {
                throw OpenAIProvider.mapTransportError(error)
            }
            if let buffer { decoder.feed(buffer.readableBytesView) } else { ended = true }
        }
    }

    private func handle(_ message: EventStreamDecoder.Message) throws(ProviderError) {
        switch message.headers[":message-type"] ?? "event" {
        case "exception":
            throw BedrockError.streamException(type: message.headers[":exception-type"], payload: message.payload, secrets: secrets)
        case "error":
            let text = SecretScrubber.scrub(message.headers[":error-message"] ?? "upstream stream error", known: secrets)
            throw ProviderError(.connection, message: "Bedrock \(message.headers[":error-code"] ?? "error"): \(text)")
        default:
            guard let type = message.headers[":event-type"] else { return }
            guard let event = (try? JSON.parse(message.payload))?.objectValue else {
                throw ProviderError(.invalidResponse, message: "upstream sent a stream event that is not JSON")
            }
            pending += translator.translate(type, event).map { StreamChunk(json: $0) }
            if type == "metadata", translator.stopped {
                // The last event: usage follows the finish reason.
                pending.append(StreamChunk(json: translator.usageChunk(), reportedUsage: translator.usage))
                done = true
            }
        }
    }
}
