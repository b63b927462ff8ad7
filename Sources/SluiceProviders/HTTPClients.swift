import AsyncHTTPClient
import NIOCore
import NIOPosix

/// One `HTTPClient` per event loop. A call whose client connection lives on
/// loop A sends its upstream request from loop A's client, so the upstream
/// connection, the response and the reply to the client stay on one thread
/// instead of hopping between loops.
public final class HTTPClients: Sendable {
    private let byLoop: [ObjectIdentifier: HTTPClient]
    private let fallback: HTTPClient
    /// Every client, for shutdown.
    public let all: [HTTPClient]

    /// Clients for each loop of `group` with `configuration`.
    public init(group: MultiThreadedEventLoopGroup = .singleton, configuration: HTTPClient.Configuration) {
        var map: [ObjectIdentifier: HTTPClient] = [:]
        var clients: [HTTPClient] = []
        for loop in group.makeIterator() {
            let client = HTTPClient(eventLoopGroupProvider: .shared(loop), configuration: configuration)
            map[ObjectIdentifier(loop)] = client
            clients.append(client)
        }
        byLoop = map
        all = clients
        fallback = clients[0]
    }

    /// The client bound to `loop`, or the first one.
    public func client(for loop: (any EventLoop)?) -> HTTPClient {
        guard let loop else { return fallback }
        return byLoop[ObjectIdentifier(loop)] ?? fallback
    }

    /// Shuts every client down.
    public func shutdown() async throws {
        for c in all { try await c.shutdown() }
    }
}
