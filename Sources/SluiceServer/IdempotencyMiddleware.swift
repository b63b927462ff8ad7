import HTTPTypes
import Hummingbird
import NIOCore
import SluiceCore
import SluiceEngine
import Synchronization

/// Applies the `Idempotency-Key` header to every `POST` on the data plane (`/v1/*`:
/// chat completions, messages, embeddings, purpose runs, tasks, feedback), whatever
/// the route: the body is read once here (within `server.max_body_bytes`), the key is
/// claimed for the caller's scope, and ``IdempotentResponder`` replays or stores the
/// response. A route that streams says through ``SluiceRequestContext/completion``
/// whether its stream ended whole, so that a broken stream gives the key up.
struct IdempotencyMiddleware: RouterMiddleware {
    typealias Context = SluiceRequestContext
    let gate: IdempotencyGate
    let maxBodyBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, request.uri.path.hasPrefix("/v1/"), request.headers[IdempotentResponder.header] != nil,
            case .success(let identity) = context.identity
        else { return try await next(request, context) }
        let body = try await Self.collect(request, limit: maxBodyBytes)
        var request = request
        request.body = RequestBody(buffer: ByteBuffer(bytes: body))
        var context = context
        let slot = CompletionSlot()
        context.completion = slot
        return try await IdempotentResponder(gate: gate).run(request, path: request.uri.path, body: body, identity: identity) {
            (try await next(request, context), { slot.completed })
        }
    }

    /// The whole body, or the `413` a route would answer.
    static func collect(_ request: Request, limit: Int) async throws -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw SluiceError(.payloadTooLarge, "The request body is \(length) bytes; this gateway accepts at most \(limit) (server.max_body_bytes).")
        }
        do {
            return Array(try await request.body.collect(upTo: limit).readableBytesView)
        } catch {
            throw ChatRoutes.bodyTooLarge(limit)
        }
    }
}

/// Where a route leaves word of whether its response was sent in full (a stream may
/// break after its head); asked once the body is written. Whole answers are complete.
final class CompletionSlot: Sendable {
    private let check = Mutex<(@Sendable () -> Bool)?>(nil)

    /// Sets the check.
    func set(_ f: @escaping @Sendable () -> Bool) { check.withLock { $0 = f } }

    /// Whether the response went out whole.
    var completed: Bool { check.withLock { $0 }?() ?? true }
}
