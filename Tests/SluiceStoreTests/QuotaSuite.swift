import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

func leaseRequest(
    _ scope: String = "budget:purpose:p", window: String = "2026-11-23", cap: Int64, amount: Int64,
    node: String = "n1", ttl: TimeInterval = 60, now: Date = storedNow()
) -> LeaseRequest {
    LeaseRequest(scope: scope, window: window, cap: cap, amount: amount, node: node, expiresAt: now.addingTimeInterval(ttl), now: now)
}

@Suite struct QuotaSuite {
    @Test(arguments: StoreBackend.available)
    func leasesComeOutOfTheCapAndSettleBack(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let a = try #require(try await store.acquireLease(leaseRequest(cap: 100, amount: 30)))
            #expect(a.amount == 30)
            let b = try #require(try await store.acquireLease(leaseRequest(cap: 100, amount: 80)))
            #expect(b.amount == 70)
            #expect(try await store.acquireLease(leaseRequest(cap: 100, amount: 1)) == nil)
            #expect(try await store.quotaUsage(scope: "budget:purpose:p", window: "2026-11-23") == QuotaUsage(cap: 100, allocated: 100, used: 0))
            #expect(try await store.settleLease(a.id, used: 10, now: storedNow()))
            #expect(try await store.settleLease(a.id, used: 10, now: storedNow()) == false)
            #expect(try await store.quotaUsage(scope: "budget:purpose:p", window: "2026-11-23") == QuotaUsage(cap: 100, allocated: 80, used: 10))
            let c = try #require(try await store.acquireLease(leaseRequest(cap: 100, amount: 50)))
            #expect(c.amount == 20)
            // Another window and another scope are separate pools.
            #expect(try await store.acquireLease(leaseRequest(window: "2026-11-24", cap: 100, amount: 50))?.amount == 50)
            #expect(try await store.acquireLease(leaseRequest("rpm:key:web", window: "10:15", cap: 5, amount: 9))?.amount == 5)
            // A lowered cap stops new grants; a raised one allows them.
            #expect(try await store.acquireLease(leaseRequest(cap: 50, amount: 5)) == nil)
            #expect(try await store.acquireLease(leaseRequest(cap: 120, amount: 50))?.amount == 20)
            #expect(try await store.quotaUsage(scope: "none", window: "x") == nil)
        }
    }

    /// Leases expire: the unreported part returns to the pool, the reported use and reservations stay spent.
    @Test(arguments: StoreBackend.available)
    func expiredLeasesReturnTheirUnusedPart(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let now = storedNow()
            let a = try #require(try await store.acquireLease(leaseRequest(cap: 100, amount: 100, ttl: 1, now: now)))
            try await store.reportLeaseUse(a.id, used: 30, reserved: 10)
            // Spent and reserved money are told apart while the lease is open.
            #expect(
                try await store.quotaUsage(scope: a.scope, window: a.window)
                    == QuotaUsage(cap: 100, allocated: 100, used: 0, openUsed: 30, openReserved: 10))
            #expect(try await store.reclaimExpiredLeases(now: now) == 0)
            #expect(try await store.reclaimExpiredLeases(now: now.addingTimeInterval(2)) == 1)
            #expect(try await store.quotaUsage(scope: a.scope, window: a.window) == QuotaUsage(cap: 100, allocated: 40, used: 40))
            // The node settles late: the use it had not reported is still charged, never dropped.
            #expect(try await store.settleLease(a.id, used: 90, now: now) == false)
            #expect(try await store.quotaUsage(scope: a.scope, window: a.window) == QuotaUsage(cap: 100, allocated: 90, used: 90))
            // Settling again charges nothing twice, and less than recorded takes nothing back.
            #expect(try await store.settleLease(a.id, used: 90, now: now) == false)
            #expect(try await store.settleLease(a.id, used: 10, now: now) == false)
            #expect(try await store.settleLease("lease_unknown", used: 10, now: now) == false)
            #expect(try await store.quotaUsage(scope: a.scope, window: a.window) == QuotaUsage(cap: 100, allocated: 90, used: 90))
            #expect(try await store.acquireLease(leaseRequest(cap: 100, amount: 100, now: now))?.amount == 10)
            // Idle windows with no open lease are pruned.
            _ = try await store.acquireLease(leaseRequest("rpm:key:k", window: "old", cap: 5, amount: 1, ttl: 1, now: now))
            #expect(try await store.reclaimExpiredLeases(now: now.addingTimeInterval(5)) == 1)
            // The budget pool still has an open lease; the idle rate window goes.
            #expect(try await store.pruneQuotaWindows(before: now.addingTimeInterval(10)) == 1)
            #expect(try await store.quotaUsage(scope: "rpm:key:k", window: "old") == nil)
        }
    }

    /// Two independent clients (two nodes), many concurrent leases each: the
    /// grants add up to the cap exactly, never more.
    @Test(arguments: StoreBackend.available)
    func concurrentLeasesFromTwoNodesNeverExceedTheCap(_ backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let nodes = [try await fixture.open(), try await fixture.open()]
            let cap: Int64 = 25_000
            let granted = try await withThrowingTaskGroup(of: [Lease].self) { group in
                for (n, store) in nodes.enumerated() {
                    for worker in 0..<8 {
                        group.addTask {
                            var mine: [Lease] = []
                            while let l = try await store.acquireLease(
                                leaseRequest(cap: cap, amount: Int64.random(in: 1...700), node: "n\(n)-\(worker)"))
                            {
                                mine.append(l)
                            }
                            return mine
                        }
                    }
                }
                return try await group.reduce(into: [Lease]()) { $0 += $1 }
            }
            let total = granted.reduce(0) { $0 + $1.amount }
            #expect(total == cap)
            #expect(Set(granted.map(\.id)).count == granted.count)
            // Settling half of every lease as spent frees exactly the other half.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (i, lease) in granted.enumerated() {
                    let store = nodes[i % 2]
                    group.addTask { try await store.settleLease(lease.id, used: lease.amount / 2, now: storedNow()) }
                }
                try await group.waitForAll()
            }
            let spent = granted.reduce(0) { $0 + $1.amount / 2 }
            let usage = try #require(try await nodes[0].quotaUsage(scope: "budget:purpose:p", window: "2026-11-23"))
            #expect(usage == QuotaUsage(cap: cap, allocated: spent, used: spent))
            for s in nodes { try await s.close() }
        }
    }

    /// Rate windows (requests per minute) shared by two nodes taking one unit at a time.
    @Test(arguments: StoreBackend.available)
    func requestWindowsAreSharedAcrossNodes(_ backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let nodes = [try await fixture.open(), try await fixture.open()]
            let counts = try await withThrowingTaskGroup(of: (String, Int).self) { group in
                for window in ["10:15", "10:16"] {
                    for (n, store) in nodes.enumerated() {
                        for _ in 0..<4 {
                            group.addTask {
                                var got = 0
                                for _ in 0..<10 {
                                    if try await store.acquireLease(
                                        leaseRequest("rpm:key:web", window: window, cap: 12, amount: 1, node: "n\(n)")) != nil
                                    {
                                        got += 1
                                    }
                                }
                                return (window, got)
                            }
                        }
                    }
                }
                return try await group.reduce(into: [String: Int]()) { $0[$1.0, default: 0] += $1.1 }
            }
            #expect(counts == ["10:15": 12, "10:16": 12])
            for s in nodes { try await s.close() }
        }
    }
}
