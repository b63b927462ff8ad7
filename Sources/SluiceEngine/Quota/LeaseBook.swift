import Foundation
import SluiceStore

/// The leases one node holds, as a value: it decides, ``QuotaLeaser`` does the I/O.
///
/// A reservation is taken from one lease with room for it. A lease stops
/// taking reservations `margin` before it expires; once nothing is reserved
/// on it any more it is retired, and settling it returns its unused part.
struct LeaseBook {
    struct Slot {
        let lease: Lease
        /// The window's cap when the lease was granted; a lease from a higher cap is not spent
        /// from once the cap is lowered (an operator cut a budget: the cut holds at once).
        var cap: Int64 = .max
        var outstanding: Int64 = 0
        var used: Int64 = 0
        var retiring = false
        var free: Int64 { lease.amount - outstanding - used }
    }

    enum Decision: Equatable {
        case granted(leaseID: String)
        case needLease
    }

    private(set) var slots: [String: Slot] = [:]

    /// Reserves `amount` from a live lease of `scope`/`window` with room, or says a lease is needed.
    mutating func reserve(scope: String, window: String, amount: Int64, now: Date, margin: TimeInterval, cap: Int64 = .max) -> Decision {
        for (id, s) in slots where s.lease.scope == scope && s.lease.window == window && s.cap > cap { slots[id]?.retiring = true }
        let candidate = slots.values
            .filter {
                $0.lease.scope == scope && $0.lease.window == window && !$0.retiring && $0.free >= amount
                    && $0.lease.expiresAt.timeIntervalSince(now) > margin
            }
            .min { $0.free < $1.free }  // fill the fullest lease first, so others can retire
        guard let slot = candidate else { return .needLease }
        slots[slot.lease.id]?.outstanding += amount
        return .granted(leaseID: slot.lease.id)
    }

    /// Adds a fresh lease and reserves `amount` from it when it is big enough.
    mutating func add(_ lease: Lease, reserving amount: Int64, cap: Int64 = .max) -> Bool {
        var slot = Slot(lease: lease, cap: cap)
        let fits = lease.amount >= amount
        if fits { slot.outstanding = amount } else { slot.retiring = true }
        slots[lease.id] = slot
        return fits
    }

    /// Ends a reservation: `actual` is spent, the rest of `reserved` is free again.
    mutating func settle(leaseID: String, reserved: Int64, actual: Int64) {
        guard var slot = slots[leaseID] else { return }
        slot.outstanding -= reserved
        slot.used += actual
        slots[leaseID] = slot
    }

    /// Marks every idle lease of `scope`/`window` for return (the pool ran dry: give the leftovers back).
    mutating func retireIdle(scope: String, window: String) {
        for (id, s) in slots where s.lease.scope == scope && s.lease.window == window && s.outstanding == 0 {
            slots[id]?.retiring = true
        }
    }

    /// Removes and returns leases ready to settle: idle ones that are retiring,
    /// near expiry, or full; everything when `all`.
    mutating func takeRetired(now: Date, margin: TimeInterval, all: Bool = false) -> [Slot] {
        var out: [Slot] = []
        for (id, s) in slots {
            let idle = s.outstanding == 0
            let stale = s.lease.expiresAt.timeIntervalSince(now) <= margin
            if all || (idle && (s.retiring || stale || s.free == 0)) {
                out.append(s)
                slots[id] = nil
            }
        }
        return out
    }

    /// Puts back leases that could not be settled (the store was away); they are retried later.
    mutating func restore(_ retired: [Slot]) {
        for var s in retired {
            s.retiring = true
            slots[s.lease.id] = s
        }
    }

    /// The use so far of every lease held, and what calls in flight hold of it, to report.
    var usage: [(id: String, used: Int64, reserved: Int64)] { slots.map { ($0.key, $0.value.used, $0.value.outstanding) } }

    /// The leases of `scope`/`window`: their use, and what calls in flight hold of them.
    func usage(scope: String, window: String) -> [(id: String, used: Int64, reserved: Int64)] {
        slots.values.filter { $0.lease.scope == scope && $0.lease.window == window }
            .map { ($0.lease.id, $0.used, $0.outstanding) }
    }
}
