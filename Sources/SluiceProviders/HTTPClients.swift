import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// One `HTTPClient` (and one ``LeanHTTPClient`` for plain-HTTP whole answers) per
/// event loop. A call whose client connection lives on loop A sends its upstream
/// request from loop A's clients, so the upstream connection, the response and the
/// reply to the client stay on one thread instead of hopping between loops.
public final class HTTPClients: Sendable {
    private let byLoop: [ObjectIdentifier: (HTTPClient, LeanHTTPClient)]
    private let fallback: (HTTPClient, LeanHTTPClient)
    /// Every client, for shutdown.
    public let all: [HTTPClient]
    private let lean: [LeanHTTPClient]
    /// Whether plain-HTTP whole answers take the lean client; `SLUICE_LEAN_HTTP=0` sends
    /// everything through AsyncHTTPClient (an escape hatch, and the A/B switch of the bench).
    let leanEnabled: Bool
    /// Parsed upstream URLs (`nil`: not plain HTTP); a provider sends to a handful of them.
    private let targets = Mutex<[String: PlainHTTPTarget?]>([:])

    /// Clients for each loop of `group` with `configuration` (its connect and read timeouts
    /// apply to the lean clients too).
    public init(group: MultiThreadedEventLoopGroup = .singleton, configuration: HTTPClient.Configuration) {
        var map: [ObjectIdentifier: (HTTPClient, LeanHTTPClient)] = [:]
        var clients: [HTTPClient] = []
        var leans: [LeanHTTPClient] = []
        var first: (HTTPClient, LeanHTTPClient)?
        for loop in group.makeIterator() {
            let client = HTTPClient(eventLoopGroupProvider: .shared(loop), configuration: configuration)
            let leanClient = LeanHTTPClient(
                loop: loop, connectTimeout: configuration.timeout.connect ?? .seconds(10), readTimeout: configuration.timeout.read)
            map[ObjectIdentifier(loop)] = (client, leanClient)
            clients.append(client)
            leans.append(leanClient)
            if first == nil { first = (client, leanClient) }
        }
        byLoop = map
        all = clients
        lean = leans
        fallback = first!
        leanEnabled = ProcessInfo.processInfo.environment["SLUICE_LEAN_HTTP"] != "0"
    }

    /// The client bound to `loop`, or the first one.
    public func client(for loop: (any EventLoop)?) -> HTTPClient {
        pair(for: loop).0
    }

    /// Both clients bound to `loop`, or the first loop's.
    func pair(for loop: (any EventLoop)?) -> (HTTPClient, LeanHTTPClient) {
        guard let loop else { return fallback }
        return byLoop[ObjectIdentifier(loop)] ?? fallback
    }

    /// Where the lean client sends a request for `url`; `nil` when it is not plain HTTP
    /// or the lean client is off. Parsed once per URL.
    func plainTarget(_ url: String) -> PlainHTTPTarget? {
        guard leanEnabled else { return nil }
        if let known = targets.withLock({ $0[url] }) { return known }
        let parsed = PlainHTTPTarget(url)
        targets.withLock { cache in
            if cache.count >= 1024 { cache.removeAll() }
            cache[url] = .some(parsed)
        }
        return parsed
    }

    /// Shuts every client down.
    public func shutdown() async throws {
        for l in lean { await l.shutdown() }
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
