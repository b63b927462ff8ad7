import Foundation
import SluiceCore
import SluiceEngine
import SluiceStore
import SluiceTesting
import Synchronization
import Testing

/// Counts the lease round trips a leaser makes.
final class CountingQuotaStore: ForwardingStore {
    let base: any SluiceStore
    let acquires = Atomic<Int>(0)
    init(_ base: any SluiceStore) { self.base = base }
    func acquireLease(_ r: LeaseRequest) async throws -> Lease? {
        acquires.add(1, ordering: .relaxed)
        return try await base.acquireLease(r)
    }
}

@Suite struct QuotaLeaserTests {
    /// Two nodes spend one budget concurrently from leased slices: spend never
    /// passes the cap, almost all of it can be spent, the store ends with exactly
    /// what was spent, and most reservations cost no round trip.
    @Test(arguments: StoreBackend.available)
    func twoNodesSpendOneCapLocally(_ backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let stores = [CountingQuotaStore(try await fixture.open()), CountingQuotaStore(try await fixture.open())]
            let leasers = stores.enumerated().map { QuotaLeaser(store: $1, node: "n\($0)", clock: SystemClock()) }
            let cap: Int64 = 1_000_000
            let results = try await withThrowingTaskGroup(of: (reserved: Int, spent: Int64).self) { group in
                for leaser in leasers {
                    for _ in 0..<8 {
                        group.addTask {
                            var reserved = 0
                            var spent: Int64 = 0
                            var refusals = 0
                            while refusals < 3 {
                                let amount = Int64.random(in: 100...1_000)
                                guard let r = try await leaser.reserve(
                                    scope: "budget:purpose:p", window: "2026-11-23", cap: cap, amount: amount, slice: 20_000)
                                else {
                                    refusals += 1
                                    continue
                                }
                                let actual = amount * Int64.random(in: 50...100) / 100
                                leaser.settle(r, actual: actual)
                                reserved += 1
                                spent += actual
                            }
                            return (reserved, spent)
                        }
                    }
                }
                return try await group.reduce(into: (reserved: 0, spent: Int64(0))) {
                    $0.reserved += $1.reserved
                    $0.spent += $1.spent
                }
            }
            #expect(results.spent <= cap)
            #expect(results.spent >= cap - 1_000)
            for l in leasers { try await l.close() }
            let usage = try #require(try await stores[0].quotaUsage(scope: "budget:purpose:p", window: "2026-11-23"))
            #expect(usage.used == results.spent)
            #expect(usage.allocated == results.spent)
            let roundTrips = stores.reduce(0) { $0 + $1.acquires.load(ordering: .relaxed) }
            #expect(roundTrips * 5 < results.reserved, "\(roundTrips) lease round trips for \(results.reserved) reservations")
            for s in stores { try await s.base.close() }
        }
    }
}
