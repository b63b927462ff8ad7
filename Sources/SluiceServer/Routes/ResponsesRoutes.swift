import HTTPTypes
import Hummingbird
import NIOCore
import SluiceCore
import SluiceEngine

/// `POST /v1/responses`, `GET|DELETE /v1/responses/{id}`, `GET /v1/responses/{id}/input_items`
/// and `POST /v1/responses/{id}/cancel`: the OpenAI Responses API. The route parses,
/// calls ``ResponsesService`` and encodes; errors are OpenAI-shaped.
struct ResponsesRoutes {
    let chat: ChatRoutes
    var gateway: Gateway { chat.gateway }

    func register(on router: Router<SluiceRequestContext>) {
        router.post("/v1/responses") { request, context in try await self.create(request, context) }
        router.get("/v1/responses/:id") { _, context in
            HTTPEdge.json(200, try await gateway.responses.get(try context.parameters.require("id"), identity: try context.caller()))
        }
        router.delete("/v1/responses/:id") { _, context in
            HTTPEdge.json(200, try await gateway.responses.delete(try context.parameters.require("id"), identity: try context.caller()))
        }
        router.get("/v1/responses/:id/input_items") { request, context in
            let q = request.uri.queryParameters
            var limit: Int?
            if let l = q.get("limit") {
                guard let n = Int(String(l)) else { throw SluiceError.invalidRequest("limit must be a whole number; got '\(l)'.", param: "limit") }
                limit = n
            }
            return HTTPEdge.json(
                200,
                try await gateway.responses.inputItems(
                    try context.parameters.require("id"), identity: try context.caller(), order: q.get("order").map { String($0) },
                    limit: limit, after: q.get("after").map { String($0) }))
        }
        router.post("/v1/responses/:id/cancel") { _, context in
            HTTPEdge.json(
                200,
                try await gateway.responses.cancel(try context.parameters.require("id"), identity: try context.caller(), tasks: gateway.tasks))
        }
    }

    func create(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        let start = ContinuousClock.now
        let (identity, body) = try await chat.admit(request, context)
        let reply = await gateway.responses.create(
            body: body, attribution: HTTPEdge.attribution(request.headers), identity: identity, start: start, eventLoop: context.eventLoop)
        switch reply {
        case .json(let object, let meta):
            return HTTPEdge.json(200, object, headers: HTTPEdge.headers(meta))
        case .failure(let error, let meta):
            return HTTPEdge.error(error, headers: HTTPEdge.headers(meta))
        case .stream(let stream, let meta):
            context.completion?.set { stream.endedCleanly }
            return HTTPEdge.eventStream(
                meta, next: { await stream.nextFrame() }, ifReady: { await stream.nextFrameIfReady() }, disconnected: { await stream.clientDisconnected() },
                reviewID: { stream.reviewID })
        }
    }
}
