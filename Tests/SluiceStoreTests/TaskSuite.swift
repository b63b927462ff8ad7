import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

@Suite struct TaskSuite {
    /// A queued task created `i` hundredths of a second after `at`, so ids sort by `i`.
    func newTask(
        _ i: Int, at: Date, purpose: String = "extract", key: String? = nil, keyName: String? = nil, hash: String = "h1",
        maxAttempts: Int = 3
    ) -> TaskRecord {
        let t = at.addingTimeInterval(Double(i) / 100)
        return TaskRecord(
            id: IDs.make("task", at: t), purpose: purpose, idempotencyKey: key, requestHash: hash,
            request: #"{"variables":{"i":\#(i)}}"#, keyName: keyName, webhookURL: nil, maxAttempts: maxAttempts,
            createdAt: Date(timeIntervalSince1970: (t.timeIntervalSince1970 * 1000).rounded(.down) / 1000))
    }

    /// Every field survives the round trip, set or nil; an unknown id is nil; call ids append in order.
    @Test(arguments: StoreBackend.available)
    func roundTrip(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let bare = newTask(0, at: t)
            var full = newTask(1, at: t, key: "idem-1", keyName: "team-a")
            full.webhookURL = "https://hooks.example/done"
            full.request = #"{"request":{"messages":[]},"user":"ü ✓"}"#
            #expect(try await store.createTask(bare) == .created(bare))
            #expect(try await store.createTask(full) == .created(full))
            #expect(try await store.task(bare.id) == bare)
            #expect(try await store.task(full.id) == full)
            #expect(try await store.task("task_missing") == nil)

            try await store.addTaskCall(full.id, callID: "call_1")
            try await store.addTaskCall(full.id, callID: "call_2")
            try await store.addTaskCall("task_missing", callID: "call_3")
            #expect(try await store.task(full.id)?.callIDs == ["call_1", "call_2"])
            #expect(try await store.task(bare.id)?.callIDs == [])
        }
    }

    /// The same key and hash finds the task; another hash conflicts; another key name is another task.
    @Test(arguments: StoreBackend.available)
    func idempotency(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let original = newTask(0, at: t, key: "k", keyName: "team-a")
            let made = try await store.createTask(original)
            #expect(made == .created(original))
            #expect(try await store.createTask(newTask(1, at: t, key: "k", keyName: "team-a")) == .existing(original))
            #expect(try await store.createTask(newTask(2, at: t, key: "k", keyName: "team-a", hash: "h2")) == .conflict(original))
            let other = newTask(3, at: t, key: "k", keyName: "team-b")
            #expect(try await store.createTask(other) == .created(other))
            let unnamed = newTask(4, at: t, key: "k")
            #expect(try await store.createTask(unnamed) == .created(unnamed))
            #expect(try await store.createTask(newTask(5, at: t, key: "k")) == .existing(unnamed))
            let unkeyed = newTask(6, at: t)
            #expect(try await store.createTask(unkeyed) == .created(unkeyed))
            let again = newTask(7, at: t)
            #expect(try await store.createTask(again) == .created(again))
            #expect(try await store.taskCounts() == ["queued": 5])
        }
    }

    /// Newest original; status and purpose filter; `before` pages by id; `limit` is clamped.
    @Test(arguments: StoreBackend.available)
    func listFiltersAndPages(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let tasks = (0..<8).map { newTask($0, at: t, purpose: $0 % 2 == 0 ? "a" : "b") }
            for task in tasks.shuffled() { _ = try await store.createTask(task) }
            _ = try await store.cancelTask(tasks[1].id, now: t)
            _ = try await store.cancelTask(tasks[4].id, now: t)

            let all = try await store.tasks(status: nil, purpose: nil, limit: 100, before: nil)
            #expect(all.map(\.id) == tasks.reversed().map(\.id))
            #expect(try await store.tasks(status: .queued, purpose: nil, limit: 100, before: nil).map(\.id)
                == [7, 6, 5, 3, 2, 0].map { tasks[$0].id })
            #expect(try await store.tasks(status: nil, purpose: "a", limit: 100, before: nil).map(\.id)
                == [6, 4, 2, 0].map { tasks[$0].id })
            #expect(try await store.tasks(status: .cancelled, purpose: "b", limit: 100, before: nil).map(\.id) == [tasks[1].id])
            let page1 = try await store.tasks(status: nil, purpose: nil, limit: 3, before: nil)
            let page2 = try await store.tasks(status: nil, purpose: nil, limit: 3, before: page1.last?.id)
            #expect(page1.map(\.id) == [7, 6, 5].map { tasks[$0].id })
            #expect(page2.map(\.id) == [4, 3, 2].map { tasks[$0].id })
            #expect(try await store.tasks(status: nil, purpose: nil, limit: 0, before: nil).count == 1)
            #expect(try await store.taskCounts() == ["queued": 6, "cancelled": 2])
        }
    }

    /// `keyName` filters in the query: a key's pages are full however its tasks interleave with
    /// others'; `""` is the tasks created without a key; `nil` is every key's.
    @Test(arguments: StoreBackend.available)
    func listFiltersByOwningKey(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let owners: [String?] = ["team-a", "team-b", nil]
            let tasks = (0..<9).map { newTask($0, at: t, keyName: owners[$0 % 3]) }
            for task in tasks { _ = try await store.createTask(task) }
            let mine = [6, 3, 0].map { tasks[$0].id }
            let page1 = try await store.tasks(status: nil, purpose: nil, keyName: "team-a", limit: 2, before: nil)
            #expect(page1.map(\.id) == Array(mine.prefix(2)))
            let page2 = try await store.tasks(status: nil, purpose: nil, keyName: "team-a", limit: 2, before: page1.last?.id)
            #expect(page2.map(\.id) == [mine[2]])
            #expect(try await store.tasks(status: nil, purpose: nil, keyName: "", limit: 10, before: nil).map(\.id)
                == [8, 5, 2].map { tasks[$0].id })
            #expect(try await store.tasks(status: .queued, purpose: "extract", keyName: "team-b", limit: 10, before: nil).map(\.id)
                == [7, 4, 1].map { tasks[$0].id })
            #expect(try await store.tasks(status: nil, purpose: nil, keyName: "team-c", limit: 10, before: nil).isEmpty)
            #expect(try await store.tasks(status: nil, purpose: nil, keyName: nil, limit: 10, before: nil).count == 9)
        }
    }

    /// Claim, heartbeat and finish by the run's worker and attempt; a stale attempt or another worker changes nothing.
    @Test(arguments: StoreBackend.available)
    func claimHeartbeatFinish(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let tasks = (0..<3).map { newTask($0, at: t) }
            for task in tasks.reversed() { _ = try await store.createTask(task) }
            let claimed = try await store.claimTasks(worker: "n1/0", limit: 2, now: t.addingTimeInterval(1))
            #expect(claimed.map(\.id) == [tasks[0].id, tasks[1].id])
            let run = try #require(claimed.first)
            #expect(run.status == .running && run.attemptCount == 1 && run.worker == "n1/0")
            #expect(run.startedAt == t.addingTimeInterval(1) && run.heartbeatAt == t.addingTimeInterval(1))
            #expect(try await store.claimTasks(worker: "n1/0", limit: 0, now: t).isEmpty)

            #expect(try await store.heartbeatTask(run.id, worker: "n1/0", attempt: 1, now: t.addingTimeInterval(2)))
            #expect(try await store.task(run.id)?.heartbeatAt == t.addingTimeInterval(2))
            #expect(try await !store.heartbeatTask(run.id, worker: "n2/0", attempt: 1, now: t))
            #expect(try await !store.heartbeatTask(run.id, worker: "n1/0", attempt: 2, now: t))
            #expect(try await store.finishTask(
                run.id, worker: "n1/0", attempt: 2, status: .succeeded, result: "{}", error: nil, now: t) == nil)
            #expect(try await store.finishTask(
                run.id, worker: "n1/0", attempt: 1, status: .queued, result: nil, error: nil, now: t) == nil)

            let done = try #require(try await store.finishTask(
                run.id, worker: "n1/0", attempt: 1, status: .succeeded, result: #"{"ok":true}"#, error: nil,
                now: t.addingTimeInterval(3)))
            #expect(done.status == .succeeded && done.result == #"{"ok":true}"# && done.finishedAt == t.addingTimeInterval(3))
            #expect(try await store.task(run.id) == done)
            // Ended: a second finish and a heartbeat are stale.
            #expect(try await store.finishTask(
                run.id, worker: "n1/0", attempt: 1, status: .failed, result: nil, error: "late", now: t) == nil)
            #expect(try await !store.heartbeatTask(run.id, worker: "n1/0", attempt: 1, now: t))
            #expect(try await store.taskCounts() == ["succeeded": 1, "running": 1, "queued": 1])
        }
    }

    /// Retry puts failed, cancelled and needs-review tasks back (the next claim is attempt 2); cancel works on queued only.
    @Test(arguments: StoreBackend.available)
    func retryAndCancel(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let task = newTask(0, at: t)
            _ = try await store.createTask(task)
            #expect(try await store.retryTask(task.id, now: t)?.status == .queued)
            let run = try #require(try await store.claimTasks(worker: "w", limit: 5, now: t).first)
            #expect(try await store.retryTask(task.id, now: t) == run)
            #expect(try await store.cancelTask(task.id, now: t) == run)
            let failed = try #require(try await store.finishTask(
                task.id, worker: "w", attempt: 1, status: .failed, result: nil, error: "boom", now: t.addingTimeInterval(1)))
            #expect(failed.errorMessage == "boom")

            let again = try #require(try await store.retryTask(task.id, now: t.addingTimeInterval(2)))
            #expect(again.status == .queued && again.attemptCount == 1)
            #expect(again.errorMessage == nil && again.result == nil && again.worker == nil)
            #expect(again.startedAt == nil && again.finishedAt == nil && again.heartbeatAt == nil)
            let second = try #require(try await store.claimTasks(worker: "w2", limit: 5, now: t).first)
            #expect(second.attemptCount == 2 && second.worker == "w2")
            #expect(try await !store.heartbeatTask(task.id, worker: "w", attempt: 1, now: t))
            let review = try #require(try await store.finishTask(
                task.id, worker: "w2", attempt: 2, status: .needsReview, result: "{}", error: nil, now: t))
            #expect(review.status == .needsReview)
            #expect(try await store.retryTask(task.id, now: t)?.status == .queued)

            let cancelled = try #require(try await store.cancelTask(task.id, now: t.addingTimeInterval(5)))
            #expect(cancelled.status == .cancelled && cancelled.finishedAt == t.addingTimeInterval(5))
            #expect(try await store.cancelTask(task.id, now: t) == cancelled)
            #expect(try await store.claimTasks(worker: "w", limit: 5, now: t).isEmpty)
            #expect(try await store.retryTask(task.id, now: t)?.status == .queued)
            #expect(try await store.retryTask("task_missing", now: t) == nil)
            #expect(try await store.cancelTask("task_missing", now: t) == nil)
        }
    }

    /// A stale run with attempts left is requeued; one at its last attempt fails with the message; fresh runs stay.
    @Test(arguments: StoreBackend.available)
    func sweepStale(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let retryable = newTask(0, at: t, maxAttempts: 2)
            let last = newTask(1, at: t, maxAttempts: 1)
            let fresh = newTask(2, at: t, maxAttempts: 1)
            for task in [retryable, last, fresh] { _ = try await store.createTask(task) }
            _ = try await store.claimTasks(worker: "w", limit: 3, now: t)
            #expect(try await store.heartbeatTask(fresh.id, worker: "w", attempt: 1, now: t.addingTimeInterval(60)))

            let swept = try await store.sweepStaleTasks(
                heartbeatBefore: t.addingTimeInterval(30), message: "worker stopped", now: t.addingTimeInterval(61))
            #expect(swept.map(\.id) == [retryable.id, last.id])
            #expect(swept[0].status == .queued && swept[0].worker == nil && swept[0].errorMessage == nil)
            #expect(swept[0].finishedAt == nil && swept[0].attemptCount == 1)
            #expect(swept[1].status == .failed && swept[1].errorMessage == "worker stopped")
            #expect(swept[1].finishedAt == t.addingTimeInterval(61))
            #expect(try await store.task(last.id) == swept[1])
            #expect(try await store.task(fresh.id)?.status == .running)
            // The old run of the requeued task is stale; the new claim is attempt 2.
            #expect(try await store.finishTask(
                retryable.id, worker: "w", attempt: 1, status: .succeeded, result: "{}", error: nil, now: t) == nil)
            let next = try await store.claimTasks(worker: "w", limit: 3, now: t.addingTimeInterval(62))
            #expect(next.map(\.id) == [retryable.id] && next.first?.attemptCount == 2)
            #expect(try await store.sweepStaleTasks(heartbeatBefore: t.addingTimeInterval(30), message: "x", now: t).isEmpty)
        }
    }

    /// Delivery attempts come back oldest first; a recorded attempt number is kept.
    @Test(arguments: StoreBackend.available)
    func webhookAttempts(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let a1 = WebhookAttempt(taskID: "task_1", attempt: 1, at: t, status: nil, error: "connection refused")
            let a2 = WebhookAttempt(taskID: "task_1", attempt: 2, at: t.addingTimeInterval(5), status: 503, error: "HTTP 503")
            let a3 = WebhookAttempt(taskID: "task_1", attempt: 3, at: t.addingTimeInterval(20), status: 204, error: nil)
            for a in [a3, a1, a2] { try await store.recordWebhookAttempt(a) }
            try await store.recordWebhookAttempt(WebhookAttempt(taskID: "task_1", attempt: 1, at: t, status: 200, error: nil))
            try await store.recordWebhookAttempt(WebhookAttempt(taskID: "task_2", attempt: 1, at: t, status: 200, error: nil))
            #expect(try await store.webhookAttempts(taskID: "task_1") == [a1, a2, a3])
            #expect(try await store.webhookAttempts(taskID: "task_2").count == 1)
            #expect(try await store.webhookAttempts(taskID: "task_none").isEmpty)
        }
    }

    /// 20 concurrent creates with one idempotency key: exactly one is created, the rest find it.
    @Test(arguments: StoreBackend.available)
    func concurrentCreateSameKey(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let attempts = (0..<20).map { newTask($0, at: t, key: "same", keyName: "team") }
            let outcomes = try await withThrowingTaskGroup(of: TaskCreation.self) { group in
                for task in attempts { group.addTask { try await store.createTask(task) } }
                return try await group.reduce(into: [TaskCreation]()) { $0.append($1) }
            }
            var created: [TaskRecord] = []
            var existing: [TaskRecord] = []
            for outcome in outcomes {
                switch outcome {
                case .created(let task): created.append(task)
                case .existing(let task): existing.append(task)
                case .conflict: Issue.record("same hash reported as a conflict")
                }
            }
            #expect(created.count == 1 && existing.count == 19)
            #expect(existing.allSatisfy { $0 == created.first })
            #expect(try await store.taskCounts() == ["queued": 1])
        }
    }

    /// Two handles claiming from 50 queued tasks in small batches: every task is claimed exactly once.
    @Test(arguments: StoreBackend.available)
    func concurrentClaimsAreDisjoint(_ backend: StoreBackend) async throws {
        try await withStore(backend) { fixture, store in
            let other = try await fixture.open()
            let t = storedNow()
            let tasks = (0..<50).map { newTask($0, at: t) }
            for task in tasks { _ = try await store.createTask(task) }
            let claimed = try await withThrowingTaskGroup(of: [String].self) { group in
                for (n, handle) in [store, other, store, other].enumerated() {
                    group.addTask {
                        var mine: [String] = []
                        while true {
                            let batch = try await handle.claimTasks(worker: "w\(n)", limit: 3, now: t)
                            if batch.isEmpty { return mine }
                            #expect(batch.allSatisfy { $0.attemptCount == 1 && $0.worker == "w\(n)" })
                            mine += batch.map(\.id)
                        }
                    }
                }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            try await other.close()
            #expect(claimed.count == 50)
            #expect(Set(claimed) == Set(tasks.map(\.id)))
            #expect(try await store.taskCounts() == ["running": 50])
        }
    }
}
