import Hummingbird
import NIOCore
import SluiceEngine

/// The request context: Hummingbird's core storage plus the peer address,
/// which decides whether an unauthenticated call comes from loopback.
public struct SluiceRequestContext: RequestContext, RemoteAddressRequestContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// The connected peer.
    public let remoteAddress: SocketAddress?
    /// The event loop of the client's connection.
    public let eventLoop: any EventLoop

    /// The context for a new request, with the channel's peer address and loop.
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        eventLoop = source.channel.eventLoop
    }

    /// True when the peer is on 127.0.0.0/8 or ::1.
    public var isLoopback: Bool { HTTPEdge.isLoopback(remoteAddress) }
}
