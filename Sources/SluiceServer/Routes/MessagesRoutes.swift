import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SluiceCore
import SluiceEngine
import SluiceProviders

/// `POST /v1/messages`: Anthropic-compatible, routed to any provider: the surface
/// codec of Anthropic clients. The request runs through the same pipeline as
/// `/v1/chat/completions`, whose policies read its OpenAI shape; targets on an
/// Anthropic provider get the request as the client sent it (every field, the
/// `anthropic-beta` header) and their answer (whole or streamed) comes back as they
/// gave it. Other targets get the OpenAI shape, and their answer (or stream, or
/// error) is translated into Anthropic's shapes.
struct MessagesRoutes {
    let chat: ChatRoutes

    func register(on router: Router<SluiceRequestContext>) {
        router.post("/v1/messages") { request, context in await self.messages(request, context) }
    }

    func messages(_ request: Request, _ context: SluiceRequestContext) async -> Response {
        let start = ContinuousClock.now
        do {
            let (identity, body) = try await chat.admit(request, context)
            let translation = try Self.translate(body, headers: request.headers)
            let (response, completed) = await answer(
                translation, headers: request.headers, identity: identity, start: start, eventLoop: context.eventLoop)
            context.completion?.set(completed)
            return response
        } catch {
            return Self.error(HTTPEdge.sluiceError(from: error))
        }
    }

    /// The request as an OpenAI chat body, and as the native request Anthropic targets get.
    static func translate(_ body: [UInt8], headers: HTTPFields) throws -> AnthropicInbound.Translation {
        let json: JSON
        do { json = try JSON.parse(body) } catch {
            throw SluiceError.invalidRequest("The request body is not valid JSON: \(error).")
        }
        return try AnthropicInbound.translate(json, headers: passThrough(headers))
    }

    /// The client headers that go to Anthropic upstreams as they are (repeated ones joined with commas).
    static func passThrough(_ headers: HTTPFields) -> [(String, String)] {
        AnthropicInbound.passThroughHeaders.compactMap { name in
            guard let field = HTTPField.Name(name) else { return nil }
            let values = headers[values: field]
            return values.isEmpty ? nil : (name, values.joined(separator: ","))
        }
    }

    private func answer(
        _ translation: AnthropicInbound.Translation, headers: HTTPFields, identity: Identity, start: ContinuousClock.Instant,
        eventLoop: any EventLoop
    ) async -> (Response, @Sendable () -> Bool) {
        var attribution = HTTPEdge.attribution(headers)
        attribution.surface = Surface.messages.rawValue
        let reply = await chat.gateway.chat.handle(
            body: JSON.object(translation.openAI).serialized(), attribution: attribution, identity: identity,
            start: start, eventLoop: eventLoop, native: translation.native)
        return (respond(reply), ChatRoutes.completion(of: reply))
    }

    static func error(_ e: SluiceError, headers: HTTPFields = [:]) -> Response {
        var h = headers
        if let retry = e.retryAfterSeconds { h[.retryAfter] = String(retry) }
        return HTTPEdge.json(e.code.status, AnthropicInbound.error(e), headers: h)
    }

    func respond(_ reply: ChatReply) -> Response {
        switch reply {
        case .json(let status, let body, let meta):
            let parsed = (try? JSON.parse(body))?.objectValue ?? [:]
            // An Anthropic upstream's own message (the request went natively) goes out as its bytes.
            if parsed["type"]?.stringValue == "message" { return HTTPEdge.json(status, body, headers: HTTPEdge.headers(meta)) }
            return HTTPEdge.json(status, .object(AnthropicInbound.message(fromOpenAI: parsed)), headers: HTTPEdge.headers(meta))
        case .failure(let error, let meta):
            return Self.error(error, headers: HTTPEdge.headers(meta))
        case .events(let body, let meta):
            var writer = AnthropicEventWriter()
            var out: [UInt8] = []
            for frame in Self.dataPayloads(body) {
                if let obj = (try? JSON.parse(frame))?.objectValue { out += writer.frames(for: obj) }
            }
            out += writer.finish()
            return Response(status: .ok, headers: Self.sse(meta), body: .init(byteBuffer: ByteBuffer(bytes: out)))
        case .stream(let relay, let meta):
            return Response(
                status: .ok, headers: Self.sse(meta),
                body: ResponseBody { writer in
                    var events = AnthropicEventWriter()
                    var native = false
                    var reviewID: String?
                    func encode(_ event: RelayEvent) -> [UInt8] {
                        switch event {
                        case .chunk(let chunk):
                            guard let bytes = chunk.native else { return events.frames(for: chunk.json) }
                            // The upstream spoke Messages: its events pass as they are (thinking, signatures, citations…).
                            native = true
                            return bytes
                        case .failure(let error):
                            return AnthropicEventWriter.errorEvent(error)
                        case .end(let id):
                            reviewID = id
                            // An SSE comment (clients skip it), as on the chat surface; the trailer says it too.
                            let note = id.map { Array(": x-sluice-review-id \($0)\n\n".utf8) } ?? []
                            return note + (native ? [] : events.finish())
                        }
                    }
                    while let event = await relay.nextEvent() {
                        var out = encode(event)
                        // Events already received leave in the same write (see HTTPEdge.eventStream).
                        while out.count < HTTPEdge.coalesceLimit, let more = await relay.nextEventIfReady() {
                            out += encode(more)
                        }
                        guard !out.isEmpty else { continue }
                        do {
                            try await writer.write(ByteBuffer(bytes: out))
                        } catch {
                            await relay.clientDisconnected()
                            throw error
                        }
                    }
                    try await writer.finish(reviewID.map { [HTTPEdge.reviewID: $0] })
                })
        }
    }

    static func sse(_ meta: ResponseMeta) -> HTTPFields { HTTPEdge.sseHeaders(meta) }

    /// The `data:` payloads of SSE frames.
    static func dataPayloads(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        var decoder = SSEDecoder()
        decoder.feed(bytes)
        while let e = decoder.next() { out.append(e.data[...]) }
        if let e = decoder.finish() { out.append(e.data[...]) }
        return out
    }
}
