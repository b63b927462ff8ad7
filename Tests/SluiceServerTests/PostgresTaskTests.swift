import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// Two `sluice serve` processes on one PostgreSQL drain one task queue.
@Suite(.serialized) struct PostgresTaskTests {
    @Test(.enabled(if: StoreBackend.postgresURL != nil || PostgresProcessTests.ci))
    func twoNodesDrainOneQueueRunningEachTaskOnce() async throws {
        var slow = FakeUpstream.Reply.text("done")
        slow.delayMs = 30
        try await TwoNodes.with(extra: "tasks: { workers: 4, timeout_s: 30 }", reply: slow) { n in
            let (client, ports, key, upstream) = (n.client, n.ports, n.key, n.upstream)
            var ids: [String] = []
            for i in 0..<40 {
                let r = try await client.send(
                    .POST, port: ports[i % 2], "/v1/tasks",
                    body: #"{"purpose":"default","request":{"model":"fast","messages":[{"role":"user","content":"task \#(i)"}]}}"#, key: key)
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
        }
    }
}
