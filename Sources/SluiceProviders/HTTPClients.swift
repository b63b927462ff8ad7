import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// One `HTTPClient` per event loop. A call whose client connection lives on loop A
/// sends its upstream request from loop A's client, so the upstream connection, the
/// response and the reply to the client stay on one thread instead of hopping between loops.
/// Every upstream request, plain HTTP and TLS alike, goes through AsyncHTTPClient (a
/// hand-written client for plain HTTP was measured at realistic upstream latency and
/// removed: docs/performance.md).
public final class HTTPClients: Sendable {
    private let byLoop: [ObjectIdentifier: HTTPClient]
    private let fallback: HTTPClient
    /// Every client, for shutdown.
    public let all: [HTTPClient]

    /// The most HTTP/1.1 connections each loop's client opens to one host (requests beyond it
    /// wait for one): a stream holds its connection to the end, so this bounds open streams.
    public static let connectionsPerHost = 8_192

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

// MARK: Private certificate authorities (`ca_file`)

extension HTTPClients {
    /// Why a provider's `ca_file` cannot be used.
    public struct CAFileError: Error, Sendable, CustomStringConvertible {
        /// What is wrong with the file.
        public var description: String
    }

    /// The CA certificates in the PEM file at `path`; throws when it cannot be read,
    /// is not PEM, or holds no certificate.
    public static func loadCAFile(_ path: String) throws(CAFileError) -> [NIOSSLCertificate] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CAFileError(description: "cannot read '\(path)'")
        }
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(Array(data))
        } catch {
            throw CAFileError(description: "'\(path)' is not a PEM file of certificates (\(error))")
        }
        guard !certificates.isEmpty else { throw CAFileError(description: "'\(path)' holds no PEM certificate") }
        return certificates
    }

    /// A client TLS configuration that trusts the CA certificates of the PEM file at
    /// `path` in addition to the system's trust roots. The file is read now; should it
    /// have become unreadable since the config was checked, it is named to NIOSSL instead,
    /// so that every connection fails with the reason rather than silently trusting less.
    public static func tlsConfiguration(trustingCAFile path: String) -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let certificates = try? loadCAFile(path) {
            tls.additionalTrustRoots = [.certificates(certificates)]
        } else {
            tls.additionalTrustRoots = [.file(path)]
        }
        return tls
    }
}
