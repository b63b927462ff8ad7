import AsyncHTTPClient
import Foundation
import NIOCore
import SluiceCore

/// Google's Gemini API (`generateContent`, `streamGenerateContent?alt=sse`) behind the OpenAI chat shape.
public struct GeminiProvider: Provider {
    /// The configured provider name.
    public let name: String
    let baseURL: String
    let apiKey: String?
    let headers: [(String, String)]
    let timeout: TimeAmount
    let clients: HTTPClients
    /// The `api_keys:` pool, when configured: each request carries one of its keys instead of `apiKey`.
    public let keyPool: SharedKeyPool?

    /// A provider posting to `baseURL` (default `https://generativelanguage.googleapis.com/v1beta`) with `x-goog-api-key`.
    public init(
        name: String, baseURL: String = "https://generativelanguage.googleapis.com/v1beta", apiKey: String?,
        headers: [(String, String)] = [], timeout: TimeAmount = .seconds(600), clients: HTTPClients,
        keyPool: SharedKeyPool? = nil
    ) {
        var url = baseURL
        while url.hasSuffix("/") { url.removeLast() }
        self.name = name
        self.baseURL = url
        self.apiKey = apiKey
        self.headers = headers
        self.timeout = timeout
        self.clients = clients
        self.keyPool = keyPool
    }

    func send(_ request: UpstreamRequest) async throws(ProviderError) -> HTTPClientResponse {
        try await send(
            request, body: try GeminiTranslation.request(request.body),
            operation: request.stream ? ":streamGenerateContent?alt=sse" : ":generateContent")
    }

    func send(_ request: UpstreamRequest, body: JSONObject, operation: String) async throws(ProviderError) -> HTTPClientResponse {
        let model = request.model.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/", ":"])) ?? request.model
        let url = baseURL + "/models/\(model)" + operation
        var req = UpstreamCall(url: url)
        req.headers.add(name: "content-type", value: "application/json")
        if keyPool == nil, let apiKey { req.headers.add(name: "x-goog-api-key", value: apiKey) }
        for (k, v) in headers { req.headers.add(name: k, value: v) }
        req.body = ByteBuffer(bytes: JSON.object(body).serialized())
        return try await UpstreamHTTP.send(
            req, pool: keyPool, header: KeyHeader(name: "x-goog-api-key"), clients: clients, loop: request.eventLoop,
            timeout: timeout, secret: apiKey)
    }

    /// A `generateContent` call answered as a `chat.completion`.
    public func complete(_ request: UpstreamRequest) async throws(ProviderError) -> UpstreamResponse {
        let bytes = try await UpstreamHTTP.body(of: try await send(request))
        guard let obj = (try? JSON.parse(bytes))?.objectValue, obj["candidates"]?.arrayValue != nil else {
            throw ProviderError(.invalidResponse, status: 200, message: "upstream answered with a body that is not a Gemini response")
        }
        let (completion, usage) = GeminiTranslation.completion(obj, model: request.model, created: Int(Date().timeIntervalSince1970))
        return UpstreamResponse(body: JSON.object(completion).serialized(), json: completion, reportedUsage: usage)
    }

    /// A `batchEmbedContents` call answered as an OpenAI embedding list.
    public func embed(_ request: UpstreamRequest) async throws(ProviderError) -> UpstreamResponse {
        let body = try GeminiEmbeddings.request(request.body, model: request.model)
        let bytes = try await UpstreamHTTP.body(of: try await send(request, body: body, operation: ":batchEmbedContents"))
        guard let obj = (try? JSON.parse(bytes))?.objectValue else {
            throw ProviderError(.invalidResponse, status: 200, message: "upstream answered with a body that is not JSON")
        }
        let (list, usage) = try GeminiEmbeddings.list(obj, request: request.body, model: request.model)
        return UpstreamResponse(body: JSON.object(list).serialized(), json: list, reportedUsage: usage)
    }

    /// A `streamGenerateContent` call as OpenAI chunks.
    public func stream(_ request: UpstreamRequest) async throws(ProviderError) -> any ChunkStream {
        GeminiChunkStream(body: try await send(request).body, model: request.model, created: Int(Date().timeIntervalSince1970))
    }
}

/// Gemini SSE events (each a partial response) as OpenAI chunks; the stream is
/// complete only if a finish reason arrived before the body ended.
final class GeminiChunkStream: ChunkStream, @unchecked Sendable {
    // One relay task calls `next()` serially.
    private var reader: SSEBodyReader
    private let model: String
    private let created: Int
    private var pending: [StreamChunk] = []
    private var started = false
    private var finished = false
    private var done = false
    private var calls = 0
    private var usage = Usage()

    init(body: HTTPClientResponse.Body, model: String, created: Int) {
        reader = SSEBodyReader(body: body)
        self.model = model
        self.created = created
    }

    func chunk(_ delta: JSONObject, finish: String? = nil) -> StreamChunk {
        StreamChunk(json: [
            "id": "chatcmpl-gemini", "object": "chat.completion.chunk", "created": .int(created), "model": .string(model),
            "choices": [["index": 0, "delta": .object(delta), "logprobs": nil, "finish_reason": finish.map(JSON.string) ?? .null]],
        ])
    }

    /// The chunks of one upstream event are ready together; a new event may need more reads.
    func hasReadyChunk() -> Bool { !pending.isEmpty || done }

    func next() async throws(ProviderError) -> StreamChunk? {
        while true {
            if !pending.isEmpty { return pending.removeFirst() }
            if done { return nil }
            guard let event = try await reader.next() else {
                guard finished else { throw ProviderError(.connection, message: "upstream stream ended before a finish reason") }
                done = true
                var last = chunk([:]).json
                last["choices"] = []
                last["usage"] = AnthropicResponse.openAIUsage(usage)
                return StreamChunk(json: last, reportedUsage: usage)
            }
            guard let obj = (try? JSON.parse(event.data))?.objectValue else {
                throw ProviderError(.invalidResponse, message: "upstream sent a stream event that is not JSON")
            }
            if let err = obj["error"] { throw ProviderError(.http, status: err["code"]?.intValue, message: err["message"]?.stringValue ?? "upstream error event") }
            if obj["usageMetadata"] != nil { usage = GeminiTranslation.usage(obj["usageMetadata"]) }
            if !started {
                started = true
                pending.append(chunk(["role": "assistant", "content": ""]))
            }
            let candidate = obj["candidates"]?.arrayValue?.first
            let (text, newCalls) = GeminiTranslation.message(candidate, firstCall: calls)
            if !text.isEmpty { pending.append(chunk(["content": .string(text)])) }
            for (i, call) in newCalls.enumerated() {
                var c = call.objectValue ?? [:]
                c["index"] = .int(calls + i)
                pending.append(chunk(["tool_calls": [.object(c)]]))
            }
            calls += newCalls.count
            if let reason = GeminiTranslation.finishReason(candidate?["finishReason"]?.stringValue, calls: calls > 0) {
                finished = true
                pending.append(chunk([:], finish: reason))
            }
        }
    }
}
