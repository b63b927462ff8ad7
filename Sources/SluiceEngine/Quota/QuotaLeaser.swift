import Foundation
import Logging
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
/// ```swift
/// let leaser = QuotaLeaser(store: store, node: "node-a", clock: SystemClock())
/// if let r = try await leaser.reserve(scope: "budget:purpose:triage", window: "2026-11-23",
///                                     cap: 5_000_000_000, amount: worstCase, slice: 500_000_000) {
///     // … call the model …
///     leaser.settle(r, actual: cost)
/// }
/// ```
public final class QuotaLeaser: Sendable {
    let store: any QuotaStore
    let node: String
    let clock: any WallClock
    /// How long a lease lives.
    let ttl: TimeInterval
    /// A lease stops taking reservations this long before it expires.
    let margin: TimeInterval
    private let book = Mutex(LeaseBook())

    /// - Parameters:
    ///   - ttl: lease lifetime; a node that dies gives its unused slices back after this.
    public init(store: any QuotaStore, node: String, clock: any WallClock, ttl: TimeInterval = 300) {
        self.store = store
        self.node = node
        self.clock = clock
        self.ttl = ttl
        self.margin = ttl / 4
    }

    /// Reserves `amount` of the window, leasing a new slice of at least `slice` when the
    /// ones held have no room. `nil` when the window's cap would be crossed.
    public func reserve(scope: String, window: String, cap: Int64, amount: Int64, slice: Int64) async throws
        -> QuotaReservation?
    {
        let now = clock.now()
        if case .granted(let id) = book.withLock({ $0.reserve(scope: scope, window: window, amount: amount, now: now, margin: margin) }) {
            return QuotaReservation(leaseID: id, amount: amount)
        }
        for attempt in 0..<2 {
            let request = LeaseRequest(
                scope: scope, window: window, cap: cap, amount: max(amount, slice), node: node,
                expiresAt: now.addingTimeInterval(ttl), now: now)
            if let lease = try await store.acquireLease(request) {
                if book.withLock({ $0.add(lease, reserving: amount) }) {
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
        for (id, used) in book.withLock({ $0.usage }) { try await store.reportLeaseUse(id, used: used) }
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
            do {
                try await store.settleLease(slot.lease.id, used: slot.used + slot.outstanding, now: now)
            } catch {
                book.withLock { $0.restore(Array(slots[i...])) }
                throw error
            }
        }
    }
}
