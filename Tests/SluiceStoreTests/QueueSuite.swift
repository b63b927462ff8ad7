import Foundation
import SluiceStore
import SluiceTesting
import Testing

@Suite struct QueueSuite {
    @Test(arguments: StoreBackend.available)
    func claimHeartbeatFinishAndRequeue(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let now = storedNow()
            #expect(try await store.enqueue(queue: "tasks", id: "t1", payload: "one", availableAt: now))
            #expect(try await store.enqueue(queue: "tasks", id: "t1", payload: "again", availableAt: now) == false)
            try await store.enqueue(queue: "tasks", id: "t2", payload: "two", availableAt: now.addingTimeInterval(0.001))
            try await store.enqueue(queue: "tasks", id: "later", payload: "", availableAt: now.addingTimeInterval(60))
            try await store.enqueue(queue: "other", id: "o1", payload: "", availableAt: now)
            let claimed = try await store.claim(queue: "tasks", worker: "w1", limit: 5, now: now.addingTimeInterval(1))
            #expect(claimed == [
                QueueItem(id: "t1", queue: "tasks", payload: "one", attempts: 1),
                QueueItem(id: "t2", queue: "tasks", payload: "two", attempts: 1),
            ])
            #expect(try await store.claim(queue: "tasks", worker: "w2", limit: 5, now: now.addingTimeInterval(1)).isEmpty)
            #expect(try await store.heartbeat(id: "t1", worker: "w1", attempt: 1, now: now.addingTimeInterval(2)))
            #expect(try await store.heartbeat(id: "t1", worker: "w2", attempt: 1, now: now.addingTimeInterval(2)) == false)
            #expect(try await store.finish(id: "t1", worker: "w2", attempt: 1, outcome: .done, now: now) == false)
            #expect(try await store.finish(id: "t1", worker: "w1", attempt: 1, outcome: .done, now: now))
            // t2's worker went silent: it is handed out again, with its attempt counted.
            #expect(try await store.requeueStale(queue: "tasks", heartbeatBefore: now.addingTimeInterval(1.5)) == 1)
            #expect(try await store.heartbeat(id: "t2", worker: "w1", attempt: 1, now: now) == false)
            let again = try await store.claim(queue: "tasks", worker: "w2", limit: 5, now: now.addingTimeInterval(3))
            #expect(again.map(\.id) == ["t2"])
            #expect(again.first?.attempts == 2)
            #expect(try await store.finish(id: "t2", worker: "w2", attempt: 2, outcome: .failed, now: now))
            #expect(try await store.queueCounts(queue: "tasks") == ["done": 1, "failed": 1, "queued": 1])
            #expect(try await store.claim(queue: "tasks", worker: "w3", limit: 5, now: now.addingTimeInterval(61)).map(\.id) == ["later"])
        }
    }

    /// A worker that went silent, had its item re-queued and claimed again (here under the
    /// same worker name, as after a restart) cannot heartbeat or finish the new claim with its
    /// old one: the claim's attempt number is its token.
    @Test(arguments: StoreBackend.available)
    func aStaleClaimCannotTouchTheNextClaim(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let now = storedNow()
            try await store.enqueue(queue: "tasks", id: "t", payload: "", availableAt: now)
            let first = try #require(try await store.claim(queue: "tasks", worker: "w", limit: 1, now: now).first)
            #expect(first.attempts == 1)
            #expect(try await store.requeueStale(queue: "tasks", heartbeatBefore: now.addingTimeInterval(1)) == 1)
            let second = try #require(try await store.claim(queue: "tasks", worker: "w", limit: 1, now: now.addingTimeInterval(2)).first)
            #expect(second.attempts == 2)
            #expect(try await store.heartbeat(id: "t", worker: "w", attempt: first.attempts, now: now.addingTimeInterval(3)) == false)
            #expect(try await store.finish(id: "t", worker: "w", attempt: first.attempts, outcome: .failed, now: now) == false)
            #expect(try await store.queueCounts(queue: "tasks") == ["claimed": 1])
            #expect(try await store.heartbeat(id: "t", worker: "w", attempt: second.attempts, now: now.addingTimeInterval(3)))
            #expect(try await store.finish(id: "t", worker: "w", attempt: second.attempts, outcome: .done, now: now))
            #expect(try await store.queueCounts(queue: "tasks") == ["done": 1])
        }
    }

    /// Two nodes with several workers each drain one queue: every item is
    /// handed to exactly one claimer.
    @Test(arguments: StoreBackend.available)
    func concurrentClaimsNeverShareAnItem(_ backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let nodes = [try await fixture.open(), try await fixture.open()]
            let now = storedNow()
            for i in 0..<300 {
                try await nodes[i % 2].enqueue(queue: "q", id: String(format: "item-%04d", i), payload: "\(i)", availableAt: now)
            }
            let claims = try await withThrowingTaskGroup(of: [String].self) { group in
                for (n, store) in nodes.enumerated() {
                    for w in 0..<4 {
                        group.addTask {
                            var mine: [String] = []
                            while true {
                                let got = try await store.claim(queue: "q", worker: "n\(n)w\(w)", limit: 7, now: storedNow())
                                if got.isEmpty { return mine }
                                mine += got.map(\.id)
                            }
                        }
                    }
                }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            #expect(claims.count == 300)
            #expect(Set(claims).count == 300)
            #expect(try await nodes[1].queueCounts(queue: "q") == ["claimed": 300])
            for s in nodes { try await s.close() }
        }
    }
}
