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
        let reply = await chat.gateway.purposes.run(
            purpose: purpose, body: body, attribution: HTTPEdge.attribution(request.headers), identity: identity, start: start,
            eventLoop: context.eventLoop)
        context.completion?.set(ChatRoutes.completion(of: reply))
        return chat.respond(reply)
    }
}
