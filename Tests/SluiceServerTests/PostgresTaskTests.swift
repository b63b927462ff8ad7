import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// Two `sluice serve` processes on one PostgreSQL drain one task queue.
@Suite(.serialized) struct PostgresTaskTests {
    @Test(.enabled(if: StoreBackend.postgresURL != nil || PostgresProcessTests.ci))
    func twoNodesDrainOneQueueRunningEachTaskOnce() async throws {
        try await exclusively { try await run() }
    }

    func run() async throws {
        let fixture = try StoreFixture(.postgres)
        defer { Task { await fixture.destroy() } }
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        var slow = FakeUpstream.Reply.text("done")
        slow.delayMs = 30
        upstream.setDefault(slow)
        let dir = try makeTempDir()
        let config = try PostgresProcessTests.writeConfig(
            dir: dir, storageURL: fixture.storageURL, upstream: upstream, extra: "tasks: { workers: 4, timeout_s: 30 }")
        let (nodes, ports) = try await PostgresProcessTests.startNodes(2, config: config, dir: dir)
        let client = NodeClient.make()
        let key = PostgresProcessTests.clientKey
        var ids: [String] = []
        for i in 0..<40 {
            let r = try await client.send(
                .POST, port: ports[i % 2], "/v1/tasks",
                body: #"{"purpose":"default","request":{"model":"fast","messages":[{"role":"user","content":"task \#(i)"}]}}"#, key: key)
            if r.status != 202 {
                for n in nodes { print("NODE LOG", n.text.split(separator: "\n").filter { !$0.contains("\"msg\":\"call\"") }.suffix(30).joined(separator: "\n")) }
            }
            #expect(r.status == 202, "\(r.json)")
            ids.append(r.json["id"]?.stringValue ?? "")
        }
        var done: [JSON] = []
        for _ in 0..<400 {
            let list = try await client.send(.GET, port: ports[0], "/v1/tasks?status=succeeded&limit=100", key: key)
            done = list.json["data"]?.arrayValue ?? []
            if done.count == ids.count { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(Set(done.compactMap { $0["id"]?.stringValue }) == Set(ids))
        #expect(done.allSatisfy { $0["attempt_count"] == 1 && $0["call_ids"]?.arrayValue?.count == 1 }, "\(done.filter { $0["attempt_count"] != 1 || $0["call_ids"]?.arrayValue?.count != 1 }.prefix(2))")
        // Each task reached the upstream exactly once, whichever node ran it.
        #expect(upstream.received.count == ids.count)
        try await client.http.shutdown()
        for n in nodes { n.signal(SIGTERM) }
        for n in nodes { #expect(try await n.waitExit() == 0, "\(n.text.suffix(1500))") }
    }
}
