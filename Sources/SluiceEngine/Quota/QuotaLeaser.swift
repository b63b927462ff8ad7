import Foundation
import Logging
import ServiceLifecycle
import SluiceCore
import SluiceStore
import Synchronization

/// One reservation against a shared quota; settle it with the actual amount.
public struct QuotaReservation: Sendable, Equatable {
    /// The lease the amount was reserved from.
    public let leaseID: String
    /// The amount reserved.
    public let amount: Int64
}

/// Spends shared quotas (budgets, request and token windows) locally from
/// leased slices, so that the cap holds across nodes while most reservations
/// cost no database round trip.
///
/// It is a `Service`: ``run()`` calls ``tick()`` every `tickInterval` (settling leases that are
/// done, reporting the use of the others) and ``close()`` at shutdown, which returns the unused
/// part of every slice to its pool. Run it before the store closes.
///
/// ```swift
/// let leaser = QuotaLeaser(store: store, node: "node-a", clock: SystemClock(), logger: logger)
/// if let r = try await leaser.reserve(scope: "budget:purpose:triage", window: "2026-11-23",
///                                     cap: 5_000_000_000, amount: worstCase, slice: 500_000_000) {
///     // … call the model …
///     leaser.settle(r, actual: cost)
/// }
/// ```
public final class QuotaLeaser: Service, Sendable {
    let store: any QuotaStore
    let node: String
    let clock: any WallClock
    let logger: Logger
    /// How long a lease lives.
    let ttl: TimeInterval
    /// A lease stops taking reservations this long before it expires.
    let margin: TimeInterval
    /// How often ``run()`` ticks: well within `margin` plus the store's reclaim grace, so a live
    /// node settles its leases before any other node reclaims them.
    let tickInterval: Duration
    private let book = Mutex(LeaseBook())
    /// When this node last asked the others about each window.
    private let asked = Mutex([String: ContinuousClock.Instant]())

    /// - Parameters:
    ///   - ttl: lease lifetime; a node that dies gives its unused slices back after this.
    ///   - logger: where upkeep failures and late settles are reported.
    ///   - tickInterval: how often ``run()`` settles and reports (default 15 s; `ttl / 4` is the margin).
    public init(
        store: any QuotaStore, node: String, clock: any WallClock, ttl: TimeInterval = 300,
        logger: Logger = Logger(label: "sluice.quota"), tickInterval: Duration = .seconds(15)
    ) {
        self.store = store
        self.node = node
        self.clock = clock
        self.ttl = ttl
        self.margin = ttl / 4
        self.logger = logger
        self.tickInterval = tickInterval
    }

    /// Ticks every `tickInterval` until graceful shutdown or cancellation, then settles every
    /// lease held (``close()``). Failures are logged, never thrown: the next tick retries, and a
    /// lease that cannot be settled returns to its pool when it expires.
    public func run() async throws {
        let interval = tickInterval
        while true {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                break  // shutdown or cancellation
            }
            do {
                try await tick()
            } catch {
                logger.warning("quota lease upkeep failed; will retry", metadata: ["error": "\(error)"])
            }
        }
        // Not cancelled with this task: the store must still get the leases back.
        let closing = Task { try await self.close() }
        do {
            try await closing.value
        } catch {
            logger.error(
                "could not return quota leases at shutdown; their unused part returns when they expire",
                metadata: ["error": "\(error)", "leases": "\(book.withLock { $0.slots.count })"])
        }
    }

    /// Reserves `amount` of the window, leasing a new slice of at least `slice` when the
    /// ones held have no room. `nil` when the window's cap would be crossed.
    public func reserve(scope: String, window: String, cap: Int64, amount: Int64, slice: Int64) async throws
        -> QuotaReservation?
    {
        let now = clock.now()
        if case .granted(let id) = book.withLock({ $0.reserve(scope: scope, window: window, amount: amount, now: now, margin: margin, cap: cap) }) {
            return QuotaReservation(leaseID: id, amount: amount)
        }
        for attempt in 0..<2 {
            let request = LeaseRequest(
                scope: scope, window: window, cap: cap, amount: max(amount, slice), node: node,
                expiresAt: now.addingTimeInterval(ttl), now: now)
            if let lease = try await store.acquireLease(request) {
                if book.withLock({ $0.add(lease, reserving: amount, cap: cap) }) {
                    return QuotaReservation(leaseID: lease.id, amount: amount)
                }
            }
            // The pool is (nearly) dry: return this node's idle leftovers, then try once more.
            guard attempt == 0 else { break }
            book.withLock { $0.retireIdle(scope: scope, window: window) }
            try await settleRetired()
        }
        return nil
    }

    /// Ends a reservation with what was really spent (at most the reserved amount is expected).
    public func settle(_ reservation: QuotaReservation, actual: Int64) {
        book.withLock { $0.settle(leaseID: reservation.leaseID, reserved: reservation.amount, actual: max(0, actual)) }
    }

    /// Settles leases that are done and reports the use of the others; run periodically.
    public func tick() async throws {
        try await settleRetired()
        for (id, used, reserved) in book.withLock({ $0.usage }) { try await store.reportLeaseUse(id, used: used, reserved: reserved) }
    }

    /// The change-feed topic on which a node short of room asks the others to give back idle
    /// slices of a pool and report their use (payload: scope, a tab, window).
    public static let topic = "quota"

    /// Asks every node (through `feed`) to give back its idle slices of the window and report its
    /// use now, at most every 200 ms per window from this node. Failures are logged.
    public func askOthers(scope: String, window: String, feed: any ChangeFeed) async {
        let now = ContinuousClock.now
        let due = asked.withLock { a -> Bool in
            if let last = a["\(scope)\t\(window)"], now - last < .milliseconds(200) { return false }
            if a.count > 10_000 { a.removeAll() }
            a["\(scope)\t\(window)"] = now
            return true
        }
        guard due else { return }
        do { try await feed.publish(Change(topic: Self.topic, payload: "\(scope)\t\(window)")) } catch {
            logger.warning("could not ask other nodes for quota", metadata: ["scope": "\(scope)", "error": "\(error)"])
        }
    }

    /// Another node is short of room in a window: give back this node's idle slices of it and
    /// report the use of the others, so its refusals see current figures.
    public func release(_ change: ChangeEvent) async {
        guard case .change(let c) = change else { return }
        let parts = c.payload.split(separator: "\t", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return }
        let (scope, window) = (parts[0], parts[1])
        book.withLock { $0.retireIdle(scope: scope, window: window) }
        do {
            try await settleRetired()
            for (id, used, reserved) in book.withLock({ $0.usage(scope: scope, window: window) }) {
                try await store.reportLeaseUse(id, used: used, reserved: reserved)
            }
        } catch {
            logger.warning("could not give back quota another node asked for", metadata: ["scope": "\(scope)", "error": "\(error)"])
        }
    }

    /// The window across every node, with this node's leases reported first so its own figures
    /// are current (other nodes' are as of their last tick); `nil` when it was never leased from.
    public func standing(scope: String, window: String) async throws -> QuotaUsage? {
        for (id, used, reserved) in book.withLock({ $0.usage(scope: scope, window: window) }) {
            try await store.reportLeaseUse(id, used: used, reserved: reserved)
        }
        return try await store.quotaUsage(scope: scope, window: window)
    }

    /// Settles every lease held (at shutdown); outstanding reservations count as spent.
    public func close() async throws {
        try await settle(book.withLock { $0.takeRetired(now: clock.now(), margin: margin, all: true) })
    }

    private func settleRetired() async throws {
        let now = clock.now()
        try await settle(book.withLock { $0.takeRetired(now: now, margin: margin) })
    }

    /// Settles the leases; on a store failure the unsettled ones go back into the book.
    private func settle(_ slots: [LeaseBook.Slot]) async throws {
        let now = clock.now()
        for (i, slot) in slots.enumerated() {
            let used = slot.used + slot.outstanding
            do {
                if try await !store.settleLease(slot.lease.id, used: used, now: now) {
                    // Reclaimed as expired before this node settled it: the store charged the use
                    // beyond what was reported, so nothing is lost, but the ticks were too slow.
                    logger.warning(
                        "quota lease was reclaimed before it was settled; its use was charged to the pool",
                        metadata: [
                            "lease": "\(slot.lease.id)", "scope": "\(slot.lease.scope)", "window": "\(slot.lease.window)",
                            "used": "\(used)",
                        ])
                }
            } catch {
                book.withLock { $0.restore(Array(slots[i...])) }
                throw error
            }
        }
    }
}
