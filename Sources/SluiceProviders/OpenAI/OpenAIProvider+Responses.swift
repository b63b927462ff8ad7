import AsyncHTTPClient
import Foundation
import NIOCore
import SluiceCore

/// OpenAI's Responses API as a native upstream: a `/v1/responses` request goes to
/// `{base_url}/responses` (Azure: `{base_url}/openai/v1/responses`) with the fields the
/// client sent, and the answer keeps the upstream's bytes beside the chat-completion
/// shape the gateway's policies read.
extension OpenAIProvider {
    /// The native Responses request `request` carries, when this provider takes it.
    func responsesRequest(_ request: UpstreamRequest) -> NativeRequest? {
        guard settings.nativeResponses, let native = request.native, native.format == .openAIResponses else { return nil }
        return native
    }

    /// Where Responses requests go.
    var responsesURL: String {
        switch settings.dialect {
        case .openAI: settings.baseURL + "/responses"
        // Azure serves the Responses API on its v1 surface only, the deployment named by `model`.
        case .azure: settings.baseURL + "/openai/v1/responses"
        }
    }

    func sendResponses(_ request: UpstreamRequest, _ native: NativeRequest) async throws(ProviderError) -> HTTPClientResponse {
        var call = call(to: responsesURL, stream: request.stream)
        let body = ResponsesCodec.upstreamBody(native.body, model: request.model, stream: request.stream)
        call.body = ByteBuffer(bytes: JSON.object(body).serialized())
        return try await send(call, loop: request.eventLoop)
    }

    /// A whole Responses answer: the chat completion made from it, and its bytes as `native`.
    func completeResponses(_ request: UpstreamRequest, _ native: NativeRequest) async throws(ProviderError) -> UpstreamResponse {
        let response = try await sendResponses(request, native)
        let bytes = try await UpstreamHTTP.body(of: response)
        let status = Int(response.status.code)
        guard let json = try? JSON.parse(bytes), let obj = json.objectValue, obj["output"]?.arrayValue != nil else {
            throw ProviderError(.invalidResponse, status: status, message: "upstream answered \(status) with a body that is not a response")
        }
        if obj["status"]?.stringValue == "failed" {
            throw ResponsesStreamTranslator.failure(
                code: obj["error"]?["code"]?.stringValue, message: obj["error"]?["message"]?.stringValue ?? "upstream response failed")
        }
        let (completion, usage) = ResponsesCodec.chatCompletion(fromResponse: obj)
        return UpstreamResponse(
            body: JSON.object(completion).serialized(), json: completion, status: status, reportedUsage: usage, native: bytes)
    }

    /// A streamed Responses answer: one chunk per upstream event.
    func streamResponses(_ request: UpstreamRequest, _ native: NativeRequest) async throws(ProviderError) -> any ChunkStream {
        ResponsesChunkStream(body: try await sendResponses(request, native).body, created: Int(Date().timeIntervalSince1970))
    }
}

/// Reads a Responses API SSE body. Every event becomes one chunk holding the event's SSE
/// bytes (`native`) and its chat form (`json`; empty for events with no chat content:
/// content parts, `done` events, reasoning progress…); the terminal event adds a
/// usage-only chunk. The stream ends cleanly after `response.completed` or
/// `response.incomplete`; `response.failed`, an `error` event, or a body that ends
/// before a terminal event throws.
final class ResponsesChunkStream: ChunkStream, @unchecked Sendable {
    // One relay task calls `next()` serially.
    private var reader: SSEBodyReader
    private var translator: ResponsesStreamTranslator
    private var pending: [StreamChunk] = []
    private var done = false

    init(body: HTTPClientResponse.Body, created: Int) {
        reader = SSEBodyReader(body: body)
        translator = ResponsesStreamTranslator(created: created)
    }

    /// The chunks of one upstream event are ready together; a new event may need more reads.
    func hasReadyChunk() -> Bool { !pending.isEmpty || done }

    func next() async throws(ProviderError) -> StreamChunk? {
        while true {
            if !pending.isEmpty { return pending.removeFirst() }
            if done { return nil }
            guard let event = try await reader.next() else {
                throw ProviderError(.connection, message: "upstream stream ended before response.completed")
            }
            pending = try Self.chunks(for: event, translator: &translator, done: &done)
        }
    }

    /// The chunks for one upstream event; the first holds its SSE bytes. Sets `done` after the terminal event.
    static func chunks(
        for event: SSEDecoder.Event, translator: inout ResponsesStreamTranslator, done: inout Bool
    ) throws(ProviderError) -> [StreamChunk] {
        if event.data.elementsEqual("[DONE]".utf8) {
            throw ProviderError(.connection, message: "upstream stream ended before response.completed")
        }
        guard let obj = (try? JSON.parse(event.data))?.objectValue else {
            throw ProviderError(.invalidResponse, message: "upstream sent a stream event that is not JSON")
        }
        let (chunks, end) = try translator.translate(obj)
        let usage = translator.usage
        var out = chunks.map { StreamChunk(json: $0, reportedUsage: $0["usage"] == nil ? nil : usage) }
        if out.isEmpty { out = [StreamChunk(raw: Array("{}".utf8), json: [:])] }
        out[0].native = AnthropicChunkStream.frame(event)
        for i in out.indices.dropFirst() { out[i].native = [] }
        done = end
        return out
    }
}
