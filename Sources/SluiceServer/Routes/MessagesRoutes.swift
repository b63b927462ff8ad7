import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SluiceCore
import SluiceEngine
import SluiceProviders

/// `POST /v1/messages`: Anthropic-compatible, routed to any provider. The
/// request is translated to the OpenAI chat shape, runs through the same
/// pipeline as `/v1/chat/completions`, and the answer (or stream, or error)
/// is translated back into Anthropic's shapes.
struct MessagesRoutes {
    let chat: ChatRoutes

    func register(on router: Router<SluiceRequestContext>) {
        router.post("/v1/messages") { request, context in await self.messages(request, context) }
    }

    func messages(_ request: Request, _ context: SluiceRequestContext) async -> Response {
        let start = ContinuousClock.now
        do {
            let (identity, body) = try await chat.admit(request, context)
            let openAI = try Self.translate(body)
            return try await chat.idempotent.run(request, path: "/v1/messages", body: body, identity: identity) {
                await answer(openAI, headers: request.headers, identity: identity, start: start, eventLoop: context.eventLoop)
            }
        } catch {
            return Self.error(HTTPEdge.sluiceError(from: error))
        }
    }

    /// The answer to an admitted caller's Anthropic `body` (what the ``FastLane`` calls),
    /// errors in Anthropic's shape.
    func answer(headers: HTTPFields, body: [UInt8], identity: Identity, start: ContinuousClock.Instant, eventLoop: any EventLoop) async
        -> Response
    {
        do {
            let openAI = try Self.translate(body)
            return await answer(openAI, headers: headers, identity: identity, start: start, eventLoop: eventLoop).0
        } catch {
            return Self.error(HTTPEdge.sluiceError(from: error))
        }
    }

    /// The request as an OpenAI chat body.
    static func translate(_ body: [UInt8]) throws -> JSONObject {
        let json: JSON
        do { json = try JSON.parse(body) } catch {
            throw SluiceError.invalidRequest("The request body is not valid JSON: \(error).")
        }
        return try AnthropicInbound.toOpenAI(json)
    }

    private func answer(
        _ openAI: JSONObject, headers: HTTPFields, identity: Identity, start: ContinuousClock.Instant, eventLoop: any EventLoop
    ) async -> (Response, @Sendable () -> Bool) {
        let reply = await chat.gateway.chat.handle(
            body: JSON.object(openAI).serialized(), attribution: HTTPEdge.attribution(headers), identity: identity,
            start: start, eventLoop: eventLoop)
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
            let completion = (try? JSON.parse(body))?.objectValue ?? [:]
            return HTTPEdge.json(status, .object(AnthropicInbound.message(fromOpenAI: completion)), headers: HTTPEdge.headers(meta))
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
                    while let frame = await relay.nextFrame() {
                        var out: [UInt8] = []
                        for payload in Self.dataPayloads(frame) {
                            if payload.elementsEqual("[DONE]".utf8) {
                                out += events.finish()
                            } else if let obj = (try? JSON.parse(payload))?.objectValue {
                                out += obj["error"] != nil ? AnthropicEventWriter.errorFrame(.object(obj)) : events.frames(for: obj)
                            }
                        }
                        guard !out.isEmpty else { continue }
                        do {
                            try await writer.write(ByteBuffer(bytes: out))
                        } catch {
                            await relay.clientDisconnected()
                            throw error
                        }
                    }
                    try await writer.finish(nil)
                })
        }
    }

    static func sse(_ meta: ResponseMeta) -> HTTPFields {
        var headers = HTTPEdge.headers(meta)
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return headers
    }

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
