import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// Two `sluice serve` processes on a fresh PostgreSQL schema, in front of one
/// FakeUpstream, for the two-node cases of each feature.
struct TwoNodes {
    let ports: [Int]
    let client: NodeClient
    let upstream: FakeUpstream
    var key: String { PostgresProcessTests.clientKey }
    var adminKey: String { PostgresProcessTests.adminKey }

    /// Starts the nodes with `extra` config (after `prepare` writes any files into their
    /// directory), runs `body` apart from the deadline tests, then stops both with SIGTERM
    /// and expects a clean exit. Nodes are killed when `body` throws, so none is left behind.
    static func with(
        extra: String, reply: FakeUpstream.Reply, prepare: (String) throws -> Void = { _ in },
        _ body: (TwoNodes) async throws -> Void
    ) async throws {
        try await exclusively {
            let fixture = try StoreFixture(.postgres)
            defer { Task { await fixture.destroy() } }
            let upstream = try await FakeUpstream.start()
            defer { Task { await upstream.stop() } }
            upstream.setDefault(reply)
            let dir = try makeTempDir()
            try prepare(dir)
            let config = try PostgresProcessTests.writeConfig(dir: dir, storageURL: fixture.storageURL, upstream: upstream, extra: extra)
            let (nodes, ports) = try await PostgresProcessTests.startNodes(2, config: config, dir: dir)
            let client = NodeClient.make()
            do {
                try await body(TwoNodes(ports: ports, client: client, upstream: upstream))
            } catch {
                for n in nodes { n.signal(SIGKILL) }
                try? await client.http.shutdown()
                throw error
            }
            try await client.http.shutdown()
            for n in nodes { n.signal(SIGTERM) }
            for n in nodes { #expect(try await n.waitExit() == 0, "\(n.text.suffix(1500))") }
        }
    }
}
