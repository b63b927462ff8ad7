import Hummingbird
import SluiceCore
import SluiceEngine

/// `POST /v1/feedback`: a data key's verdict on one of its answers.
struct FeedbackRoutes {
    let chat: ChatRoutes

    func register(on router: Router<SluiceRequestContext>) {
        router.post("/v1/feedback") { request, context in try await self.create(request, context) }
    }

    /// 201 and the stored feedback.
    func create(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        let (identity, body) = try await chat.admit(request, context)
        let item = try await chat.gateway.feedback.submit(body: body, identity: identity)
        return HTTPEdge.json(201, FeedbackService.json(item))
    }
}
