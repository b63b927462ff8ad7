import Foundation
import Logging
import ServiceLifecycle
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
    static let scope = "budget:purpose:p"
    static let window = "2026-11-23"

    /// Polls `condition` every 20 ms for up to `limit`.
    static func eventually(within limit: Duration = .seconds(5), _ condition: () async throws -> Bool) async rethrows -> Bool {
        let end = ContinuousClock.now + limit
        while ContinuousClock.now < end {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }

    /// Run as a service, the leaser ticks on its own (a lease near expiry is settled without any
    /// call), and at graceful shutdown it returns the unused part of every slice it holds.
    @Test(arguments: StoreBackend.available)
    func asAServiceItTicksAndReturnsItsSlicesAtShutdown(_ backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let store = try await fixture.open()
            let clock = ManualClock()
            var logger = Logger(label: "test-quota")
            logger.logLevel = .error
            let leaser = QuotaLeaser(store: store, node: "n1", clock: clock, logger: logger, tickInterval: .milliseconds(20))
            let group = ServiceGroup(configuration: .init(services: [leaser], gracefulShutdownSignals: [], logger: logger))
            let running = Task { try await group.run() }
            // The pool itself (what open leases last reported is checked elsewhere: the ticks race it here).
            func usage() async throws -> QuotaUsage? {
                try await store.quotaUsage(scope: Self.scope, window: Self.window).map { QuotaUsage(cap: $0.cap, allocated: $0.allocated, used: $0.used) }
            }

            let r1 = try #require(try await leaser.reserve(scope: Self.scope, window: Self.window, cap: 10_000, amount: 100, slice: 1_000))
            leaser.settle(r1, actual: 60)
            #expect(try await usage() == QuotaUsage(cap: 10_000, allocated: 1_000, used: 0))
            // Within the margin of its expiry the idle lease is settled by a tick.
            clock.advance(240)
            #expect(try await Self.eventually { try await usage() == QuotaUsage(cap: 10_000, allocated: 60, used: 60) })

            let r2 = try #require(try await leaser.reserve(scope: Self.scope, window: Self.window, cap: 10_000, amount: 100, slice: 1_000))
            leaser.settle(r2, actual: 40)
            #expect(try await usage() == QuotaUsage(cap: 10_000, allocated: 1_060, used: 60))
            await group.triggerGracefulShutdown()
            try await running.value
            let end = try #require(try await usage())
            #expect(end == QuotaUsage(cap: 10_000, allocated: 100, used: 100))
            #expect(end.remaining == 9_900)
            try await store.close()
        }
    }

    /// A lease reclaimed as expired before its node settled it (the node was too slow): the
    /// settle still charges what was spent, and the leaser warns.
    @Test(arguments: StoreBackend.available)
    func aLeaseReclaimedBeforeItsSettleIsStillCharged(_ backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let store = try await fixture.open()
            let clock = ManualClock()
            let logs = LogCapture()
            let logger = Logger(label: "test-quota") { JSONLogHandler(label: $0, sink: .closure { logs.append($0) }) }
            let leaser = QuotaLeaser(store: store, node: "n1", clock: clock, ttl: 60, logger: logger)
            let r = try #require(try await leaser.reserve(scope: Self.scope, window: Self.window, cap: 1_000, amount: 100, slice: 500))
            leaser.settle(r, actual: 70)
            clock.advance(200)
            #expect(try await store.reclaimExpiredLeases(now: clock.now()) == 1)
            #expect(try await store.quotaUsage(scope: Self.scope, window: Self.window) == QuotaUsage(cap: 1_000, allocated: 0, used: 0))
            try await leaser.close()
            #expect(try await store.quotaUsage(scope: Self.scope, window: Self.window) == QuotaUsage(cap: 1_000, allocated: 70, used: 70))
            #expect(logs.text.contains("quota lease was reclaimed before it was settled"), "\(logs.text)")
            try await store.close()
        }
    }

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
            // Almost all of it is spendable: a worker is refused only when its next reservation (at most
            // 1,000) does not fit, and each node may strand less than one such reservation in a lease.
            #expect(results.spent >= cap - 2 * 1_000)
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
