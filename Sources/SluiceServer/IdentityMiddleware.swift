import Hummingbird
import SluiceCore
import SluiceEngine

/// Authenticates every API request once and puts the outcome in the request
/// context, so that routes never authenticate for themselves:
///
/// - `/admin/*` needs the admin key;
/// - `/v1/tasks*` takes the admin key (every task) or a data key (its own);
/// - every other `/v1/*` route takes a data key.
///
/// A failure is kept, not thrown, so that each surface answers it in its own shape
/// (Anthropic's errors on `/v1/messages`): ``SluiceRequestContext/caller()`` throws it.
/// Health, metrics and the dashboard pages (their own session cookie) are left alone.
/// An address that keeps failing is slowed (``AuthThrottle``): its failing requests get `429`
/// with `Retry-After` instead of `401`, while valid keys from it go on.
struct IdentityMiddleware: RouterMiddleware {
    typealias Context = SluiceRequestContext
    let keyRing: KeyRing
    let throttle: AuthThrottle

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let path = request.uri.path
        let address = context.remoteAddress?.ipAddress ?? "unknown"
        let key = HTTPEdge.presentedKey(request.headers)
        let outcome = Self.identify(path: path, key: key, loopback: context.isLoopback, keyRing: keyRing)
        if case .failure = outcome {
            // A slowed address gets 429 for every key that fails; valid keys from it (other
            // clients behind the same proxy) go on.
            if let refusal = throttle.refusal(for: address) {
                context.identity = .failure(refusal)
            } else {
                throttle.fail(address, key: key)
                context.identity = outcome
            }
        } else {
            context.identity = outcome
        }
        return try await next(request, context)
    }

    /// Who presents `key` on `path`, or why they may not call it; `nil` for paths without API auth.
    static func identify(path: String, key: String?, loopback: Bool, keyRing: KeyRing) -> Result<Identity, SluiceError>? {
        do throws(SluiceError) {
            if path.hasPrefix("/admin/") { return .success(try keyRing.authenticateAdmin(key: key, fromLoopback: loopback)) }
            guard path.hasPrefix("/v1/") else { return nil }
            if path == "/v1/tasks" || path.hasPrefix("/v1/tasks/"),
                let admin = try? keyRing.authenticateAdmin(key: key, fromLoopback: loopback), admin.isAdmin
            {
                return .success(admin)
            }
            return .success(try keyRing.authenticateData(key: key, fromLoopback: loopback))
        } catch {
            return .failure(error)
        }
    }
}
