import Foundation
import SluiceCore

/// What one call adds to its hour's rollup, read from a record being written or from the
/// stored row it replaces (columns ``RollupColumns/factColumns``).
struct RollupFacts {
    var hourMs: Int64
    var purpose: String
    var error: Bool
    var refusal: Bool
    var cacheHit: Bool
    var shadow: Bool
    var costUSD: Double
    var savedUSD: Double
    var inputTokens: Int
    var outputTokens: Int
    var cachedTokens: Int
    var schemaValid: Bool?
    var slot: Int

    /// The contribution of `r` as it will be stored.
    init(_ r: CallRecord) {
        hourMs = RollupColumns.hourStart(r.createdAtMillis)
        purpose = r.purpose
        error = r.status != .ok
        refusal = r.refusal == true
        cacheHit = LedgerColumns.cacheHits.contains(r.cache)
        shadow = r.shadowOf != nil
        costUSD = r.costUSD ?? 0
        savedUSD = r.savedUSD
        inputTokens = r.usage.inputTokens
        outputTokens = r.usage.outputTokens
        cachedTokens = r.usage.cachedTokens
        schemaValid = r.schemaValid
        slot = LatencyHistogram.bucket(forMs: r.latencyMs)
    }

    /// The contribution of a stored row, from cells in ``RollupColumns/factColumns`` order.
    init(cells c: [Cell]) {
        hourMs = RollupColumns.hourStart(c[0].int ?? 0)
        purpose = c[1].text ?? ""
        error = c[2].text != CallRecord.Status.ok.rawValue
        refusal = (c[3].int ?? 0) != 0
        cacheHit = c[4].text.map(LedgerColumns.cacheHits.contains) ?? false
        shadow = c[5].text != nil
        costUSD = c[6].double ?? 0
        savedUSD = c[7].double ?? 0
        inputTokens = Int(c[8].int ?? 0)
        outputTokens = Int(c[9].int ?? 0)
        cachedTokens = Int(c[10].int ?? 0)
        schemaValid = c[11].int.map { $0 != 0 }
        slot = LatencyHistogram.bucket(forMs: c[12].double ?? 0)
    }
}

/// The change one write batch makes to the rollups, summed per (hour, purpose) in memory
/// so a batch of a thousand calls costs a handful of upserts.
struct RollupDeltas {
    private struct Key: Hashable, Comparable {
        var hourMs: Int64
        var purpose: String
        static func < (a: Key, b: Key) -> Bool { (a.hourMs, a.purpose) < (b.hourMs, b.purpose) }
    }

    private var sums: [Key: CallRollup] = [:]
    /// Keys some call was taken away from: their row may now count no call and must go.
    private var shrunk: Set<Key> = []

    /// Adds a call that is being written.
    mutating func add(_ f: RollupFacts) { apply(f, sign: 1) }

    /// Takes away a stored call that is being replaced.
    mutating func remove(_ f: RollupFacts) {
        apply(f, sign: -1)
        shrunk.insert(Key(hourMs: f.hourMs, purpose: f.purpose))
    }

    private mutating func apply(_ f: RollupFacts, sign: Int) {
        let key = Key(hourMs: f.hourMs, purpose: f.purpose)
        var r = sums[key] ?? CallRollup(hour: Date(timeIntervalSince1970: Double(f.hourMs) / 1000), purpose: f.purpose)
        func flag(_ b: Bool) -> Int { b ? sign : 0 }
        r.calls += sign
        r.errors += flag(f.error)
        r.refusals += flag(f.refusal)
        r.cacheHits += flag(f.cacheHit)
        r.shadows += flag(f.shadow)
        r.costUSD += Double(sign) * f.costUSD
        r.savedUSD += Double(sign) * f.savedUSD
        r.inputTokens += sign * f.inputTokens
        r.outputTokens += sign * f.outputTokens
        r.cachedTokens += sign * f.cachedTokens
        r.schemaChecked += flag(f.schemaValid != nil)
        r.schemaValid += flag(f.schemaValid == true)
        r.latency[f.slot] += sign
        sums[key] = r
    }

    /// The non-zero changes as cells in ``RollupColumns/names`` order, sorted by hour and
    /// purpose: writers that lock rows in one order cannot deadlock each other.
    var rows: [[Cell]] {
        sums.sorted { $0.key < $1.key }.compactMap { _, r in r == CallRollup(hour: r.hour, purpose: r.purpose) ? nil : r.cells }
    }

    /// The (hour, purpose) keys a replaced call was taken from, sorted.
    var shrunkKeys: [(hourMs: Int64, purpose: String)] {
        shrunk.sorted().map { ($0.hourMs, $0.purpose) }
    }

    /// True when nothing changes.
    var isEmpty: Bool { sums.isEmpty }
}
