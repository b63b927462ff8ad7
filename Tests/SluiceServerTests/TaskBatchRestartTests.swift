import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// Batch mode across processes: a restart resumes a submitted batch, and two nodes on
/// one PostgreSQL finish each batch once.
@Suite struct TaskBatchRestartTests {
    @Test(arguments: [FakeBatchAPI.API.openAI, .anthropic])
    func aRestartedGatewayResumesTheSubmittedBatchWithoutSendingItAgain(_ api: FakeBatchAPI.API) async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.batches.setPollsToComplete(1_000)
        let dir = try makeTempDir()
        let shared = try SQLiteStore(path: dir + "/sluice.db")
        try await shared.migrate()
        // Polled often, collected only by hand.
        let yaml = try TaskBatchTests.config(upstream, api, tasks: "{ workers: 2, timeout_s: 30, batch_interval_s: 3600, batch_poll_s: 0.05 }")
        var ids: [String] = []
        try await Harness.with(yaml, wrapStore: { _ in shared }) { h in
            for ticket in ["a", "b", "c"] { ids.append(try await TaskBatchTests.triage(h, ticket)) }
            #expect(await h.gateway.taskBatcher.collect().count == 1)
            for _ in 0..<100 where (upstream.batches.created.first?.polls ?? 0) < 2 { try await Task.sleep(for: .milliseconds(10)) }
            #expect((upstream.batches.created.first?.polls ?? 0) >= 2)
            #expect(try await TaskBatchTests.task(h, ids[0])["status"] == "running")
        }
        // The process is gone; its batch waits in the store with its tasks running under it.
        let open = try await shared.openBatches()
        #expect(open.count == 1 && open.first?.status == .submitted && open.first?.taskIDs == ids)
        upstream.batches.setPollsToComplete(1)
        try await Harness.with(yaml, wrapStore: { _ in shared }) { h in
            var done: [JSON] = []
            for _ in 0..<200 {
                done = []
                for id in ids { done.append(try await TaskBatchTests.task(h, id)) }
                if done.allSatisfy({ $0["status"] == "succeeded" }) { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(done.allSatisfy { $0["status"] == "succeeded" && $0["attempt_count"] == 1 }, "\(done)")
            #expect(done.allSatisfy { $0["call_ids"]?.arrayValue?.count == 1 })
            // Resumed by its upstream id: created once, never sent again.
            #expect(upstream.batches.created.count == 1)
            #expect(upstream.received.filter { $0.method == "POST" && $0.path.hasSuffix("batches") }.count == 1)
            // Finished exactly once: a later poll has nothing to do, and there is one call row per task.
            #expect(await h.gateway.taskBatcher.poll().isEmpty)
            await h.gateway.callLog.flush()
            #expect(try await h.gateway.store.count() == 3)
            #expect(try await h.gateway.store.batch(open[0].id)?.status == .completed)
        }
        try await shared.close()
    }

    /// Two `sluice serve` nodes on one PostgreSQL: both collect and both poll every batch;
    /// each task goes into one batch and is finished once, with one call.
    @Test(.enabled(if: StoreBackend.postgresURL != nil || PostgresProcessTests.ci))
    func twoNodesFinishEachBatchedTaskOnce() async throws {
        try await exclusively {
            let fixture = try StoreFixture(.postgres)
            defer { Task { await fixture.destroy() } }
            let upstream = try await FakeUpstream.start()
            defer { Task { await upstream.stop() } }
            // Several polls per batch, so that both nodes see it end.
            upstream.batches.setPollsToComplete(4)
            let dir = try makeTempDir()
            let yaml = """
                server: { host: 127.0.0.1, port: 0 }
                storage: { url: "\(fixture.storageURL)" }
                auth:
                  admin_key: ${TEST_ADMIN_KEY}
                  keys:
                    - { name: app, key: ${TEST_CLIENT_KEY} }
                providers:
                  up: { type: openai, base_url: "\(upstream.baseURL)", api_key: "sk-batch-pg-1" }
                models:
                  fast: { targets: [ { provider: up, model: gpt-4o-mini } ] }
                pricing:
                  gpt-4o-mini: { input: 2.0, output: 8.0 }
                purposes:
                  bulk: { model: fast, mode: batch }
                tasks: { workers: 2, timeout_s: 30, batch_interval_s: 0.3, batch_poll_s: 0.1 }
                """
            let path = dir + "/sluice.yaml"
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
            let (nodes, ports) = try await PostgresProcessTests.startNodes(2, config: path, dir: dir)
            let client = NodeClient.make()
            let key = PostgresProcessTests.clientKey
            do {
                var ids: [String] = []
                for i in 0..<20 {
                    let r = try await client.send(
                        .POST, port: ports[i % 2], "/v1/tasks",
                        body: #"{"purpose":"bulk","request":{"model":"fast","messages":[{"role":"user","content":"item \#(i)"}]}}"#, key: key)
                    #expect(r.status == 202, "\(r.json)")
                    ids.append(r.json["id"]?.stringValue ?? "")
                }
                var done: [JSON] = []
                for _ in 0..<300 {
                    done = try await client.send(.GET, port: ports[1], "/v1/tasks?status=succeeded&limit=100", key: key).json["data"]?.arrayValue ?? []
                    if done.count == ids.count { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(Set(done.compactMap { $0["id"]?.stringValue }) == Set(ids))
                #expect(done.allSatisfy { $0["attempt_count"] == 1 && $0["call_ids"]?.arrayValue?.count == 1 })
                let sent = upstream.batches.created.flatMap(\.customIDs)
                #expect(sent.count == ids.count && Set(sent) == Set(ids))
                #expect(upstream.batches.created.allSatisfy { $0.polls >= 4 })
                #expect(upstream.received.filter { $0.path.hasSuffix("/chat/completions") }.isEmpty)
                let calls = try await client.send(
                    .GET, port: ports[0], "/admin/calls?purpose=bulk&limit=100", key: PostgresProcessTests.adminKey
                ).json["data"]?.arrayValue ?? []
                #expect(calls.count == ids.count)
                #expect(calls.allSatisfy { $0["batch_id"]?.stringValue?.hasPrefix("batch_") == true && $0["cost_usd"] == .double(0.000039) })
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
