import HTTPTypes
import Hummingbird
import NIOCore
import SluiceCore
import SluiceEngine

/// `POST /v1/chat/completions`, `POST /v1/embeddings` and `GET /v1/models`.
struct ChatRoutes {
    let gateway: Gateway

    func register(on router: Router<SluiceRequestContext>) {
        router.post("/v1/chat/completions") { request, context in try await self.chat(request, context) }
        router.post("/v1/embeddings") { request, context in try await self.embeddings(request, context) }
        router.get("/v1/models") { request, context in try self.models(request, context) }
    }

    /// The caller and the body, within `server.max_body_bytes`.
    func admit(_ request: Request, _ context: SluiceRequestContext) async throws -> (Identity, [UInt8]) {
        let identity = try context.caller()
        let limit = gateway.config.server.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw SluiceError(.payloadTooLarge, "The request body is \(length) bytes; this gateway accepts at most \(limit) (server.max_body_bytes).")
        }
        do {
            return (identity, Array(try await request.body.collect(upTo: limit).readableBytesView))
        } catch {
            throw Self.bodyTooLarge(limit)
        }
    }

    /// The error for a body over `server.max_body_bytes` (`limit`).
    static func bodyTooLarge(_ limit: Int) -> SluiceError {
        SluiceError(.payloadTooLarge, "The request body is larger than \(limit) bytes (server.max_body_bytes).")
    }

    func embeddings(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        let start = ContinuousClock.now
        let (identity, body) = try await admit(request, context)
        let reply = await gateway.chat.handleEmbeddings(
            body: body, attribution: HTTPEdge.attribution(request.headers), identity: identity, start: start, eventLoop: context.eventLoop)
        return respond(reply)
    }

    func chat(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        let start = ContinuousClock.now
        let (identity, body) = try await admit(request, context)
        let (response, completed) = await answerChat(
            headers: request.headers, body: body, identity: identity, start: start, eventLoop: context.eventLoop)
        context.completion?.set(completed)
        return response
    }

    /// A chat completion for an admitted caller, and whether it went out whole (asked once its body is written).
    func answerChat(
        headers: HTTPFields, body: [UInt8], identity: Identity, start: ContinuousClock.Instant, eventLoop: any EventLoop
    ) async -> (Response, @Sendable () -> Bool) {
        let attribution = HTTPEdge.attribution(headers)
        let reply = await gateway.chat.handle(body: body, attribution: attribution, identity: identity, start: start, eventLoop: eventLoop)
        return (respond(reply), Self.completion(of: reply))
    }

    /// Whether a reply was sent in full, asked once its body is written (a stream may have broken).
    static func completion(of reply: ChatReply) -> @Sendable () -> Bool {
        if case .stream(let relay, _) = reply { return { relay.endedCleanly } }
        return { true }
    }

    func respond(_ reply: ChatReply) -> Response {
        switch reply {
        case .json(let status, let body, let meta):
            return HTTPEdge.json(status, body, headers: HTTPEdge.headers(meta))
        case .failure(let error, let meta):
            return HTTPEdge.error(error, headers: HTTPEdge.headers(meta))
        case .events(let body, let meta):
            return Response(status: .ok, headers: HTTPEdge.sseHeaders(meta), body: .init(byteBuffer: ByteBuffer(bytes: body)))
        case .stream(let relay, let meta):
            return HTTPEdge.eventStream(
                meta, next: { await relay.nextFrame() }, ifReady: { await relay.nextFrameIfReady() }, disconnected: { await relay.clientDisconnected() },
                reviewID: { relay.reviewID })
        }
    }

    func models(_ request: Request, _ context: SluiceRequestContext) throws -> Response {
        _ = try context.caller()
        let data = gateway.catalog.names.map { name -> JSON in
            ["id": .string(name), "object": "model", "created": 0, "owned_by": "sluice"]
        }
        return HTTPEdge.json(200, ["object": "list", "data": .array(data)])
    }
}
