import Hummingbird
import NIOCore
import SluiceCore
import SluiceEngine

/// The request context: Hummingbird's core storage, the peer address (which
/// decides whether an unauthenticated call comes from loopback), and the caller
/// that ``IdentityMiddleware`` authenticated.
public struct SluiceRequestContext: RequestContext, RemoteAddressRequestContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// The connected peer.
    public let remoteAddress: SocketAddress?
    /// The event loop of the client's connection.
    public let eventLoop: any EventLoop
    /// The caller of an API route, or why it may not call it; `nil` off the API paths.
    var identity: Result<Identity, SluiceError>?
    /// Set by ``IdempotencyMiddleware``: where a route says whether its response went out whole.
    var completion: CompletionSlot?

    /// The context for a new request, with the channel's peer address and loop.
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        eventLoop = source.channel.eventLoop
    }

    /// True when the peer is on 127.0.0.0/8 or ::1.
    public var isLoopback: Bool { HTTPEdge.isLoopback(remoteAddress) }

    /// The authenticated caller; throws the authentication failure (401, 403).
    func caller() throws(SluiceError) -> Identity {
        switch identity {
        case .success(let id): return id
        case .failure(let error): throw error
        case nil: throw SluiceError(.internalError, "This route was reached without authentication; it is not under /v1/ or /admin/.")
        }
    }
}
