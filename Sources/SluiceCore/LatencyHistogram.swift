import Foundation

/// Fixed log-spaced latency buckets shared by the rollups and the dashboard.
///
/// Slot `i` holds latencies in `(bounds[i-1], bounds[i]]` (slot 0: `[0, 1]` ms); the last slot,
/// `bounds.count`, holds everything above the last bound (and NaN). Each bound is 1.2 times the
/// one before, so a quantile read from the slots is off by at most 20 % (about 10 % typically).
/// The bounds are part of the stored rollups' meaning: changing them needs a migration.
public enum LatencyHistogram {
    /// Upper bounds in milliseconds, ascending: 1 ms × 1.2^i until it passes 600_000 ms; counts have bounds.count + 1 slots (last = overflow).
    public static let bounds: [Double] = {
        var out: [Double] = []
        var i = 0
        while true {
            let bound = pow(1.2, Double(i))
            out.append(bound)
            if bound > 600_000 { return out }
            i += 1
        }
    }()

    /// The number of slots: one per bound plus the overflow slot.
    public static var slotCount: Int { bounds.count + 1 }

    /// The slot index for a latency.
    public static func bucket(forMs ms: Double) -> Int {
        guard !ms.isNaN else { return bounds.count }
        // The first bound at or above `ms`.
        var lo = 0
        var hi = bounds.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ms <= bounds[mid] { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    /// The q-quantile (0...1) estimated from slot counts, interpolating geometrically inside the slot; nil when counts are all zero.
    ///
    /// `q` outside 0...1 is clamped; a NaN `q` gives nil. Slot 0 is interpolated linearly from 0 to 1 ms. A quantile that falls in the overflow slot
    /// is reported as the last bound (the latency is at least that). Counts beyond the
    /// overflow slot, and negative counts, are ignored.
    public static func quantile(_ q: Double, counts: [Int]) -> Double? {
        let slots = counts.prefix(slotCount).map { max(0, $0) }
        let total = slots.reduce(0, +)
        guard total > 0, !q.isNaN else { return nil }
        let rank = min(1, max(0, q)) * Double(total)
        var below = 0.0
        for (i, n) in slots.enumerated() where n > 0 {
            let upTo = below + Double(n)
            if rank <= upTo {
                let fraction = min(1, max(0, (rank - below) / Double(n)))
                if i >= bounds.count { return bounds[bounds.count - 1] }
                if i == 0 { return bounds[0] * fraction }
                if fraction >= 1 { return bounds[i] }
                let lower = bounds[i - 1]
                return lower * pow(bounds[i] / lower, fraction)
            }
            below = upTo
        }
        return nil  // not reached: rank <= total, the running sum at the last non-empty slot
    }
}
