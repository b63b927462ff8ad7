import Foundation
import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import SluiceCore

/// A provider that speaks OpenAI's chat completions API: OpenAI itself and every
/// `openai_compatible` server (vLLM, Ollama, llama.cpp, Groq, OpenRouter…),
/// which differ only in base URL, key and extra headers.
public struct OpenAIProvider: Provider {
    /// How one OpenAI-family upstream lays out its URLs and authenticates.
    public enum Dialect: Sendable, Equatable {
        /// `{base_url}/chat/completions`, `Authorization: Bearer KEY`.
        case openAI
        /// Azure OpenAI: `{base_url}/openai/deployments/{deployment}/chat/completions?api-version=V`,
        /// `api-key: KEY`; a target's model is the deployment name.
        case azure(apiVersion: String)
    }

    /// How to reach one OpenAI-family upstream.
    public struct Settings: Sendable {
        /// The API root, such as `https://api.openai.com/v1`, without a trailing slash.
        public var baseURL: String
        /// The bearer key; `nil` sends no `Authorization` header.
        public var apiKey: String?
        /// Extra headers sent on every request.
        public var headers: [(String, String)]
        /// The whole-request timeout.
        public var timeout: TimeAmount
        /// URL layout and authentication.
        public var dialect: Dialect
        /// Whether the upstream serves OpenAI's Responses API (`/responses`): requests from
        /// `/v1/responses` clients then go to it as they were sent (``NativeFormat/openAIResponses``).
        public var nativeResponses: Bool
        /// Several keys to spread calls over by their rate limits (`api_keys:`); when set, each
        /// request carries one of its keys instead of `apiKey`.
        public var keyPool: SharedKeyPool?

        /// Settings with trailing slashes stripped from `baseURL`; the timeout defaults to 600 s.
        public init(
            baseURL: String, apiKey: String?, headers: [(String, String)] = [], timeout: TimeAmount = .seconds(600),
            dialect: Dialect = .openAI, nativeResponses: Bool = false, keyPool: SharedKeyPool? = nil
        ) {
            var url = baseURL
            while url.hasSuffix("/") { url.removeLast() }
            self.baseURL = url
            self.apiKey = apiKey
            self.headers = headers
            self.timeout = timeout
            self.dialect = dialect
            self.nativeResponses = nativeResponses
            self.keyPool = keyPool
        }
    }

    /// The configured provider name.
    public let name: String
    /// The Responses API when the settings say the upstream serves it; else only the chat shape.
    public var nativeFormats: Set<NativeFormat> { settings.nativeResponses ? [.openAIResponses] : [] }
    /// The `api_keys:` pool, when configured.
    public var keyPool: SharedKeyPool? { settings.keyPool }
    let settings: Settings
    let clients: HTTPClients
    let chatURL: String

    /// Largest upstream body Sluice reads for a non-streamed answer.
    static let maxBodyBytes = 64 * 1024 * 1024

    /// A provider named `name` that sends through the shared `client`.
    public init(name: String, settings: Settings, clients: HTTPClients) {
        self.name = name
        self.settings = settings
        self.clients = clients
        self.chatURL = settings.baseURL + "/chat/completions"
    }

    /// Where a request for the upstream `model` goes: `chat/completions` or `embeddings`.
    func url(for model: String, operation: String = "chat/completions") -> String {
        switch settings.dialect {
        case .openAI:
            return operation == "chat/completions" ? chatURL : settings.baseURL + "/" + operation
        case .azure(let version):
            let deployment = model.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? model
            return "\(settings.baseURL)/openai/deployments/\(deployment)/\(operation)?api-version=\(version)"
        }
    }

    func makeRequest(_ request: UpstreamRequest, operation: String = "chat/completions") -> UpstreamCall {
        var req = call(to: url(for: request.model, operation: operation), stream: request.stream)
        req.body = ByteBuffer(bytes: JSON.object(Self.withoutCacheControl(request.body)).serialized())
        return req
    }

    /// A POST to `url` with the JSON content type, authentication and the configured headers; no body yet.
    func call(to url: String, stream: Bool) -> UpstreamCall {
        var req = UpstreamCall(url: url)
        req.headers.reserveCapacity(4 + settings.headers.count)
        req.headers.add(name: "content-type", value: "application/json")
        if stream { req.headers.add(name: "accept", value: "text/event-stream") }
        if settings.keyPool == nil, let key = settings.apiKey {
            req.headers.add(name: keyHeader.name, value: keyHeader.prefix + key)
        }
        for (k, v) in settings.headers { req.headers.add(name: k, value: v) }
        return req
    }

    /// Where the key goes: `Authorization: Bearer KEY`, Azure's `api-key: KEY`.
    var keyHeader: KeyHeader {
        switch settings.dialect {
        case .openAI: KeyHeader(name: "authorization", prefix: "Bearer ")
        case .azure: KeyHeader(name: "api-key")
        }
    }

    /// Sends `call` with the configured key, or one of the pool's (``UpstreamHTTP/send(_:pool:header:clients:loop:timeout:secret:)``).
    func send(_ call: UpstreamCall, loop: (any EventLoop)?) async throws(ProviderError) -> HTTPClientResponse {
        try await UpstreamHTTP.send(
            call, pool: settings.keyPool, header: keyHeader, clients: clients, loop: loop, timeout: settings.timeout,
            secret: settings.apiKey)
    }

    /// The body without Anthropic `cache_control` marks on content parts (OpenAI-family
    /// servers reject them; their caching is automatic). Untouched when there are none.
    static func withoutCacheControl(_ body: JSONObject) -> JSONObject {
        guard let messages = body["messages"]?.arrayValue,
            messages.contains(where: { $0["content"]?.arrayValue?.contains { $0["cache_control"] != nil } == true })
        else { return body }
        var out = body
        out["messages"] = .array(
            messages.map { m in
                guard var msg = m.objectValue, let parts = msg["content"]?.arrayValue else { return m }
                msg["content"] = .array(
                    parts.map { p in
                        guard var part = p.objectValue, part["cache_control"] != nil else { return p }
                        part.removeValue(forKey: "cache_control")
                        return .object(part)
                    })
                return .object(msg)
            })
        return out
    }

    /// Posts to `{baseURL}/chat/completions`; throws on transport failure, a non-2xx status or a non-completion body.
    /// A native Responses request (``NativeFormat/openAIResponses``, when the settings allow it) posts to `/responses`.
    public func complete(_ request: UpstreamRequest) async throws(ProviderError) -> UpstreamResponse {
        if let native = responsesRequest(request) { return try await completeResponses(request, native) }
        return try await post(request, operation: "chat/completions", expecting: "choices", what: "a chat completion")
    }

    /// Posts to `{baseURL}/embeddings` (Azure: the deployment's); throws on transport failure, a non-2xx status or a body without `data`.
    public func embed(_ request: UpstreamRequest) async throws(ProviderError) -> UpstreamResponse {
        try await post(request, operation: "embeddings", expecting: "data", what: "an embedding list")
    }

    /// Posts to `{baseURL}/moderations`; throws on transport failure, a non-2xx status or a body without `results`.
    public func moderate(_ request: UpstreamRequest) async throws(ProviderError) -> UpstreamResponse {
        try await post(request, operation: "moderations", expecting: "results", what: "a moderation result")
    }

    /// One non-streamed POST whose 2xx answer must be a JSON object with the member `expecting`.
    func post(_ request: UpstreamRequest, operation: String, expecting: String, what: String) async throws(ProviderError)
        -> UpstreamResponse
    {
        let response = try await send(makeRequest(request, operation: operation), loop: request.eventLoop)
        let body = try await UpstreamHTTP.body(of: response)
        let status = Int(response.status.code)
        guard let json = try? JSON.parse(body), let obj = json.objectValue, obj[expecting] != nil else {
            throw ProviderError(.invalidResponse, status: status, message: "upstream answered \(status) with a body that is not \(what)")
        }
        return UpstreamResponse(body: body, json: obj, status: status)
    }

    /// Posts a streaming request and returns its SSE chunks; throws on transport failure or a non-2xx status.
    /// A native Responses request (``NativeFormat/openAIResponses``, when the settings allow it) streams from `/responses`.
    public func stream(_ request: UpstreamRequest) async throws(ProviderError) -> any ChunkStream {
        if let native = responsesRequest(request) { return try await streamResponses(request, native) }
        let response = try await send(makeRequest(request), loop: request.eventLoop)
        return OpenAIChunkStream(body: response.body)
    }

    static func mapTransportError(_ error: any Error) -> ProviderError {
        if let e = error as? ProviderError { return e }
        if let e = error as? HTTPClientError {
            switch e {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout:
                return ProviderError(.timeout, message: "upstream timed out (\(e))")
            case .bodyLengthMismatch:
                return ProviderError(.invalidResponse, message: "upstream body unusable (\(e))")
            default:
                return ProviderError(.connection, message: "upstream connection failed (\(e))")
            }
        }
        if error is CancellationError { return ProviderError(.timeout, message: "request cancelled") }
        let text = "\(error)"
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return ProviderError(
                .connection,
                message: "upstream TLS certificate verification failed: the server's certificate is not trusted for this host "
                    + "(a private CA needs the provider's ca_file)")
        }
        if text.contains("handshakeFailed") || text.contains("NIOSSL") {
            return ProviderError(.connection, message: "upstream TLS handshake failed (\(Self.withoutSourcePaths(text)))")
        }
        return ProviderError(.connection, message: "upstream connection failed (\(Self.withoutSourcePaths(text)))")
    }

    /// `text` without the build-machine source paths some library errors carry (` at /path/file.cc:123`).
    static func withoutSourcePaths(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let r = rest.range(of: " at /") {
            out += rest[..<r.lowerBound]
            rest = rest[r.upperBound...].drop { !" ,)]\"".contains($0) }
        }
        return out + rest
    }

    /// The upstream's error, with the provider key (and anything like one) scrubbed from its message.
    /// Reads OpenAI, Anthropic and Gemini error bodies (`error.message`), with `secret` scrubbed.
    static func httpError(status: Int, body: [UInt8], headers: HTTPHeaders, secret: String?) -> ProviderError {
        httpError(status: status, body: body, headers: headers, secrets: secret.map { [$0] } ?? [])
    }

    /// The upstream's error with every one of `secrets` (a key pool's) scrubbed from its message.
    static func httpError(status: Int, body: [UInt8], headers: HTTPHeaders, secrets: [String]) -> ProviderError {
        var message = "upstream returned HTTP \(status)"
        if let json = try? JSON.parse(body) {
            if let m = json["error"]?["message"]?.stringValue ?? json["error"]?.stringValue ?? json["message"]?.stringValue {
                message = m
            }
        } else if !body.isEmpty {
            message = String(decoding: body.prefix(300), as: UTF8.self)
        }
        let retryAfter = headers.first(name: "retry-after").flatMap { RetryAfter.seconds($0) }
        message = SecretScrubber.scrub(message, known: secrets)
        return ProviderError(.http, status: status, message: message, retryAfterSeconds: retryAfter)
    }
}
