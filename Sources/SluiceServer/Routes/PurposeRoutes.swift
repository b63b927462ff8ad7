import Hummingbird
import SluiceCore
import SluiceEngine

/// `POST /v1/purposes/{purpose}/run`: the native way to call a purpose's prompt.
struct PurposeRoutes {
    let chat: ChatRoutes

    func register(on router: Router<SluiceRequestContext>) {
        router.post("/v1/purposes/:purpose/run") { request, context in try await self.run(request, context) }
    }

    func run(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        let start = ContinuousClock.now
        let (identity, body) = try await chat.admit(request, context)
        let purpose = context.parameters.get("purpose") ?? ""
        return try await chat.idempotent.run(request, path: "/v1/purposes/\(purpose)/run", body: body, identity: identity) {
            let reply = await chat.gateway.purposes.run(
                purpose: purpose, body: body, attribution: HTTPEdge.attribution(request.headers), identity: identity, start: start,
                eventLoop: context.eventLoop)
            return (chat.respond(reply), ChatRoutes.completion(of: reply))
        }
    }
}
