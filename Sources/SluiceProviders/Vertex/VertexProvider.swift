import AsyncHTTPClient
import Foundation
import NIOCore
import SluiceCore

/// Google Vertex AI behind the OpenAI chat shape, for two publishers chosen by the model id:
/// Gemini (`…/publishers/google/models/{m}:generateContent`, `:streamGenerateContent?alt=sse`,
/// translated as for `type: gemini`) and Claude (`…/publishers/anthropic/models/{m}:rawPredict`,
/// `:streamRawPredict`, the Messages API body without `model` and with
/// `anthropic_version: vertex-2023-10-16`, translated as for `type: anthropic`). Every request
/// carries an OAuth access token from ``VertexTokenSource``.
public struct VertexProvider: Provider {
    /// Who publishes a model on Vertex AI, which decides its API.
    public enum Publisher: String, Sendable {
        /// Gemini: the `generateContent` API.
        case google
        /// Claude: the Messages API through `rawPredict`.
        case anthropic

        /// The publisher and the bare model id of a target's `model`: an explicit
        /// `google/…` or `anthropic/…` prefix wins; otherwise `claude-*` is Anthropic's and
        /// anything else Google's.
        public static func route(_ model: String) -> (publisher: Publisher, model: String) {
            if let slash = model.firstIndex(of: "/"), let explicit = Publisher(rawValue: String(model[..<slash])) {
                return (explicit, String(model[model.index(after: slash)...]))
            }
            return (model.hasPrefix("claude-") ? .anthropic : .google, model)
        }
    }

    /// How to reach one Vertex AI project and location.
    public struct Settings: Sendable {
        /// The Google Cloud project id.
        public var project: String
        /// The location (`us-central1`, `europe-west1`, `global`…).
        public var location: String
        /// The endpoint root without a trailing slash; see ``defaultBaseURL(location:)``.
        public var baseURL: String
        /// How requests authenticate.
        public var credentials: VertexCredentials
        /// Extra headers on every request.
        public var headers: [(String, String)]
        /// Whole-request timeout.
        public var timeout: TimeAmount
        /// The clock that decides token expiry and dates answers.
        public var clock: any WallClock
        /// Several credential sets, chosen per request like an API key pool; empty: ``credentials`` alone.
        public var pool: [PooledCredentials] = []

        /// Settings for `project` in `location`; `baseURL` `nil` means the location's public endpoint.
        public init(
            project: String, location: String, baseURL: String? = nil, credentials: VertexCredentials,
            headers: [(String, String)] = [], timeout: TimeAmount = .seconds(600), clock: any WallClock = SystemClock()
        ) {
            var url = baseURL ?? Self.defaultBaseURL(location: location)
            while url.hasSuffix("/") { url.removeLast() }
            self.project = project
            self.location = location
            self.baseURL = url
            self.credentials = credentials
            self.headers = headers
            self.timeout = timeout
            self.clock = clock
        }

        /// `https://{location}-aiplatform.googleapis.com`, or `https://aiplatform.googleapis.com` for `global`.
        public static func defaultBaseURL(location: String) -> String {
            location == "global" ? "https://aiplatform.googleapis.com" : "https://\(location)-aiplatform.googleapis.com"
        }
    }

    /// The `anthropic_version` Claude on Vertex AI takes in the body.
    public static let anthropicVersion = "vertex-2023-10-16"

    /// The configured provider name.
    public let name: String
    /// Messages requests from Anthropic clients go to Claude models as they are.
    public var nativeFormats: Set<NativeFormat> { [.anthropicMessages] }
    let settings: Settings
    let clients: HTTPClients
    /// The provider's access tokens, shared by all its calls.
    public let tokens: VertexTokenSource
    /// One token source per pooled credential set, in pool order.
    let pooledTokens: [VertexTokenSource]
    /// The credential sets' pool; `nil` without `credentials:`.
    public let keyPool: SharedKeyPool?

    /// One named credential set of a pool.
    public struct PooledCredentials: Sendable {
        /// Its name, shown in `/admin/breakers`, `/metrics` and call records.
        public var name: String
        /// The service account or static token.
        public var credentials: VertexCredentials
        /// Its share of the calls among the sets with room.
        public var weight: Double

        /// A named set.
        public init(name: String, credentials: VertexCredentials, weight: Double = 1) {
            self.name = name
            self.credentials = credentials
            self.weight = weight
        }
    }

    /// A provider named `name` sending through `clients`.
    public init(name: String, settings: Settings, clients: HTTPClients) {
        self.name = name
        self.settings = settings
        self.clients = clients
        tokens = VertexTokenSource(credentials: settings.credentials, clients: clients, clock: settings.clock)
        pooledTokens = settings.pool.map { VertexTokenSource(credentials: $0.credentials, clients: clients, clock: settings.clock) }
        keyPool = settings.pool.isEmpty
            ? nil
            : SharedKeyPool(
                provider: name, keys: settings.pool.map { .init(name: $0.name, secret: "vertex-credentials:" + $0.name, weight: $0.weight) },
                clock: settings.clock)
    }

    /// `{base}/v1/projects/{project}/locations/{location}/publishers/{publisher}/models/{model}:{operation}`.
    func url(_ publisher: Publisher, model: String, operation: String) -> String {
        let allowed = CharacterSet.urlPathAllowed.subtracting(["/", ":"])
        func part(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s }
        return settings.baseURL + "/v1/projects/\(part(settings.project))/locations/\(part(settings.location))"
            + "/publishers/\(publisher.rawValue)/models/\(part(model)):\(operation)"
    }

    /// The body and operation for `request` on its publisher.
    func prepared(_ request: UpstreamRequest) throws(ProviderError) -> (Publisher, body: JSONObject, operation: String) {
        let (publisher, model) = Publisher.route(request.model)
        switch publisher {
        case .google:
            if let native = request.native, let feature = native.nativeOnly.first {
                throw ProviderError(
                    .http, status: 400,
                    message: "'\(feature)' cannot be sent to Gemini model '\(model)' on Vertex AI: only Claude models there take the "
                        + "\(native.format.displayName) as it is")
            }
            return (.google, try GeminiTranslation.request(request.body), request.stream ? "streamGenerateContent?alt=sse" : "generateContent")
        case .anthropic:
            var addressed = request
            addressed.model = model
            var body = try AnthropicProvider.body(for: addressed)
            body["model"] = nil
            body["anthropic_version"] = .string(Self.anthropicVersion)
            if request.stream { body["stream"] = true } else { body["stream"] = nil }
            return (.anthropic, body, request.stream ? "streamRawPredict" : "rawPredict")
        }
    }

    /// Sends `request` to its publisher with a current access token (with a credential pool: of a
    /// set with room; a 429 cools the set down and the request goes again with another set).
    func send(_ request: UpstreamRequest) async throws(ProviderError) -> (Publisher, HTTPClientResponse) {
        guard let keyPool else { return try await send(request, tokens: tokens) }
        return try await keyPool.rotating(noun: "credentials") { choice async throws(ProviderError) in
            let answer = try await send(request, tokens: pooledTokens[choice.index])
            return (answer, Int(answer.1.status.code))
        }
    }

    /// One exchange with a token of `tokens`.
    func send(_ request: UpstreamRequest, tokens: VertexTokenSource) async throws(ProviderError) -> (Publisher, HTTPClientResponse) {
        let (publisher, body, operation) = try prepared(request)
        let token = try await tokens.token()
        var req = UpstreamCall(url: url(publisher, model: Publisher.route(request.model).model, operation: operation))
        req.headers.add(name: "content-type", value: "application/json")
        req.headers.add(name: "authorization", value: "Bearer " + token)
        if request.stream, publisher == .anthropic { req.headers.add(name: "accept", value: "text/event-stream") }
        for (k, v) in settings.headers { req.headers.add(name: k, value: v) }
        if publisher == .anthropic, let native = request.native, native.format == .anthropicMessages {
            for (k, v) in native.headers { req.headers.replaceOrAdd(name: k, value: v) }
        }
        req.body = ByteBuffer(bytes: JSON.object(body).serialized())
        do {
            let response = try await UpstreamHTTP.send(
                req, clients: clients, loop: request.eventLoop, timeout: settings.timeout, secret: token)
            return (publisher, response)
        } catch {
            if error.status == 401 { await tokens.invalidate(token) }
            throw VertexError.decorated(error, settings: settings, model: request.model)
        }
    }

    /// A `generateContent` or `rawPredict` call answered as a `chat.completion`; a native
    /// Messages request's answer keeps the upstream's bytes too.
    public func complete(_ request: UpstreamRequest) async throws(ProviderError) -> UpstreamResponse {
        let (publisher, response) = try await send(request)
        let bytes = try await UpstreamHTTP.body(of: response)
        let created = Int(settings.clock.now().timeIntervalSince1970)
        switch publisher {
        case .google:
            guard let obj = (try? JSON.parse(bytes))?.objectValue, obj["candidates"]?.arrayValue != nil else {
                throw ProviderError(.invalidResponse, status: 200, message: "upstream answered with a body that is not a Gemini response")
            }
            let (completion, usage) = GeminiTranslation.completion(obj, model: Publisher.route(request.model).model, created: created)
            return UpstreamResponse(body: JSON.object(completion).serialized(), json: completion, reportedUsage: usage)
        case .anthropic:
            guard let message = (try? JSON.parse(bytes))?.objectValue, message["content"] != nil else {
                throw ProviderError(.invalidResponse, status: 200, message: "upstream answered with a body that is not an Anthropic message")
            }
            let (completion, usage) = AnthropicResponse.completion(message, created: created)
            return UpstreamResponse(
                body: JSON.object(completion).serialized(), json: completion, reportedUsage: usage,
                native: request.native?.format == .anthropicMessages ? bytes : nil)
        }
    }

    /// A `streamGenerateContent` or `streamRawPredict` call as OpenAI chunks.
    public func stream(_ request: UpstreamRequest) async throws(ProviderError) -> any ChunkStream {
        let (publisher, response) = try await send(request)
        let created = Int(settings.clock.now().timeIntervalSince1970)
        switch publisher {
        case .google:
            return GeminiChunkStream(body: response.body, model: Publisher.route(request.model).model, created: created)
        case .anthropic:
            return AnthropicChunkStream(body: response.body, created: created, native: request.native?.format == .anthropicMessages)
        }
    }
}
