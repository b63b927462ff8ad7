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

    /// One Idempotency-Key sent to both nodes at once calls the upstream once: the other node
    /// says it is in progress, then replays the stored answer.
    @Test(.enabled(if: StoreBackend.postgresURL != nil || PostgresProcessTests.ci))
    func anIdempotencyKeyHoldsAcrossNodes() async throws {
        var slow = FakeUpstream.Reply.text("once")
        slow.delayMs = 400
        try await TwoNodes.with(extra: "", reply: slow) { n in
            let body = #"{"model":"fast","messages":[{"role":"user","content":"charge card"}]}"#
            let headers = ["Idempotency-Key": "pay-7"]
            async let first = n.client.send(.POST, port: n.ports[0], "/v1/chat/completions", body: body, key: n.key, headers: headers)
            try await Task.sleep(for: .milliseconds(150))
            let during = try await n.client.send(.POST, port: n.ports[1], "/v1/chat/completions", body: body, key: n.key, headers: headers)
            #expect(during.status == 409, "\(during.json)")
            let done = try await first
            #expect(done.status == 200)
            let after = try await n.client.send(.POST, port: n.ports[1], "/v1/chat/completions", body: body, key: n.key, headers: headers)
            #expect(after.status == 200)
            #expect(after.callID == done.callID && after.callID != nil)
            #expect(after.json == done.json)
            #expect(n.upstream.received.count == 1)
        }
    }
}
