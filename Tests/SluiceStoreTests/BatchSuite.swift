import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

@Suite struct BatchSuite {
    func newTask(_ i: Int, at: Date, purpose: String) -> TaskRecord {
        let t = at.addingTimeInterval(Double(i) / 100)
        return TaskRecord(
            id: IDs.make("task", at: t), purpose: purpose, idempotencyKey: nil, requestHash: "h", request: "{}", keyName: nil,
            webhookURL: nil, maxAttempts: 3, createdAt: Date(timeIntervalSince1970: (t.timeIntervalSince1970 * 1000).rounded(.down) / 1000))
    }

    func newBatch(_ id: String, tasks: [TaskRecord], at: Date) -> TaskBatch {
        let items = tasks.map {
            TaskBatch.Item(taskID: $0.id, attempt: 1, callID: "call_\($0.id)", body: #"{"model":"fast","messages":[]}"#, promptName: "triage", promptVersion: "v1")
        }
        return TaskBatch(id: id, purpose: "bulk", provider: "up", model: "gpt-4o-mini", items: items, createdAt: at)
    }

    /// A claim takes only the purposes its filter lets through; `.only([])` takes nothing.
    @Test(arguments: StoreBackend.available)
    func claimsFilterByPurpose(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let tasks = (0..<6).map { newTask($0, at: t, purpose: ["sync", "bulk", "other"][$0 % 3]) }
            for task in tasks { _ = try await store.createTask(task) }
            #expect(try await store.claimTasks(worker: "w", limit: 10, now: t, purposes: .only([])).isEmpty)
            let bulk = try await store.claimTasks(worker: "batch:b1", limit: 10, now: t, purposes: .only(["bulk"]))
            #expect(bulk.map(\.id) == [tasks[1].id, tasks[4].id])
            #expect(bulk.allSatisfy { $0.worker == "batch:b1" && $0.status == .running })
            let rest = try await store.claimTasks(worker: "w", limit: 1, now: t, purposes: .except(["bulk", "other"]))
            #expect(rest.map(\.id) == [tasks[0].id])
            let any = try await store.claimTasks(worker: "w", limit: 10, now: t, purposes: .except([]))
            #expect(any.map(\.id) == [tasks[2].id, tasks[3].id, tasks[5].id])
        }
    }

    /// A batch round-trips; open ones list oldest first; each transition happens once; heartbeats reach its running tasks only.
    @Test(arguments: StoreBackend.available)
    func lifecycle(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let tasks = (0..<3).map { newTask($0, at: t, purpose: "bulk") }
            for task in tasks { _ = try await store.createTask(task) }
            let a = newBatch(IDs.make("batch", at: t), tasks: Array(tasks[0..<2]), at: t)
            let b = newBatch(IDs.make("batch", at: t.addingTimeInterval(1)), tasks: [tasks[2]], at: t.addingTimeInterval(1))
            _ = try await store.claimTasks(worker: a.worker, limit: 2, now: t, purposes: .only(["bulk"]))
            _ = try await store.claimTasks(worker: b.worker, limit: 1, now: t, purposes: .only(["bulk"]))
            try await store.createBatch(b)
            try await store.createBatch(a)
            #expect(try await store.batch(a.id) == a)
            #expect(try await store.batch("batch_missing") == nil)
            #expect(try await store.openBatches().map(\.id) == [a.id, b.id])

            // submitting → submitted sets the upstream id; a second identical move finds nothing to move.
            let submitted = try #require(try await store.transitionBatch(
                a.id, from: .submitting, to: .submitted, upstreamID: "up_1", error: nil, now: t.addingTimeInterval(2)))
            #expect(submitted.status == .submitted && submitted.upstreamID == "up_1" && submitted.updatedAt == t.addingTimeInterval(2))
            #expect(try await store.transitionBatch(a.id, from: .submitting, to: .submitted, upstreamID: "up_2", error: nil, now: t) == nil)

            #expect(try await store.heartbeatBatchTasks(a.id, now: t.addingTimeInterval(5)) == 2)
            #expect(try await store.task(tasks[0].id)?.heartbeatAt == t.addingTimeInterval(5))
            #expect(try await store.task(tasks[2].id)?.heartbeatAt == t)
            _ = try await store.finishTask(tasks[0].id, worker: a.worker, attempt: 1, status: .succeeded, result: "{}", error: nil, now: t)
            #expect(try await store.heartbeatBatchTasks(a.id, now: t.addingTimeInterval(6)) == 1)

            let done = try #require(try await store.transitionBatch(
                a.id, from: .submitted, to: .completed, upstreamID: nil, error: nil, now: t.addingTimeInterval(7)))
            #expect(done.status == .completed && done.upstreamID == "up_1" && done.items == a.items)
            #expect(try await store.transitionBatch(a.id, from: .submitted, to: .failed, upstreamID: nil, error: "late", now: t) == nil)
            let failed = try #require(try await store.transitionBatch(
                b.id, from: .submitting, to: .failed, upstreamID: nil, error: "abandoned", now: t))
            #expect(failed.error == "abandoned" && failed.upstreamID == nil)
            #expect(try await store.openBatches().isEmpty)
        }
    }

    /// A call's batch id is stored and read back (and its absence too).
    @Test(arguments: StoreBackend.available)
    func callsKeepTheirBatchID(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            var batched = sampleRecord(1, at: storedNow())
            batched.batchID = "batch_0193abc"
            let direct = sampleRecord(2, at: storedNow())
            try await store.insert([batched, direct])
            #expect(try await store.get(batched.callID) == batched)
            #expect(try await store.get(direct.callID)?.batchID == nil)
            #expect(batched.json["batch_id"] == "batch_0193abc")
        }
    }

    /// Two handles racing to end one batch: exactly one wins.
    @Test(arguments: StoreBackend.available)
    func concurrentTransitionsHaveOneWinner(_ backend: StoreBackend) async throws {
        try await withStore(backend) { fixture, store in
            let other = try await fixture.open()
            let t = storedNow()
            let batch = newBatch(IDs.make("batch", at: t), tasks: [newTask(0, at: t, purpose: "bulk")], at: t)
            try await store.createBatch(batch)
            _ = try await store.transitionBatch(batch.id, from: .submitting, to: .submitted, upstreamID: "up", error: nil, now: t)
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for handle in [store, other, store, other] {
                    group.addTask {
                        try await handle.transitionBatch(batch.id, from: .submitted, to: .completed, upstreamID: nil, error: nil, now: t) != nil
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            try await other.close()
            #expect(wins == 1)
            #expect(try await store.batch(batch.id)?.status == .completed)
        }
    }
}
