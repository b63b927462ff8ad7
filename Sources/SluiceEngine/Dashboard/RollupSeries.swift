import Foundation
import SluiceCore
import SluiceStore

/// Hourly call rollups regrouped for the dashboard: per purpose, per UTC day
/// or per hour, over a fixed run of slots so every series has the same length.
public struct RollupSeries: Sendable {
    /// The slot labels, oldest first (`2026-11-23` for days, `2026-11-23T14` for hours).
    public let slots: [String]
    /// The purposes that have calls in the range, sorted.
    public let purposes: [String]
    /// Summed rollups keyed by purpose, one per slot (zero when the slot had no calls).
    public let byPurpose: [String: [CallRollup]]

    /// Groups `rollups` into `count` slots of `slotSeconds` ending with the slot that holds `now`.
    public init(_ rollups: [CallRollup], now: Date, slotSeconds: TimeInterval, count: Int) {
        let last = (now.timeIntervalSince1970 / slotSeconds).rounded(.down) * slotSeconds
        let first = last - Double(count - 1) * slotSeconds
        let starts = (0..<count).map { Date(timeIntervalSince1970: first + Double($0) * slotSeconds) }
        slots = starts.map { date in
            let text = Timestamp.iso8601(date)
            return slotSeconds >= 86_400 ? String(text.prefix(10)) : String(text.prefix(13))
        }
        var out: [String: [CallRollup]] = [:]
        for r in rollups {
            let i = Int(((r.hour.timeIntervalSince1970 - first) / slotSeconds).rounded(.down))
            guard i >= 0, i < count else { continue }
            var row = out[r.purpose] ?? starts.map { CallRollup(hour: $0, purpose: r.purpose) }
            row[i].add(r)
            out[r.purpose] = row
        }
        byPurpose = out
        purposes = out.keys.sorted()
    }

    /// The sum over every slot of one purpose, or of all purposes when `purpose` is nil.
    public func total(_ purpose: String? = nil) -> CallRollup {
        var t = CallRollup(hour: Date(timeIntervalSince1970: 0), purpose: purpose ?? "*")
        for (p, rows) in byPurpose where purpose == nil || p == purpose {
            for r in rows { t.add(r) }
        }
        return t
    }

    /// One number per slot for `purpose`; all `nil` when it had no calls in the range.
    public func values(_ purpose: String, _ metric: (CallRollup) -> Double?) -> [Double?] {
        byPurpose[purpose]?.map(metric) ?? slots.map { _ in nil }
    }
}

extension CallRollup {
    /// Adds another rollup's counts to this one.
    public mutating func add(_ o: CallRollup) {
        calls += o.calls
        errors += o.errors
        refusals += o.refusals
        cacheHits += o.cacheHits
        shadows += o.shadows
        costUSD += o.costUSD
        savedUSD += o.savedUSD
        inputTokens += o.inputTokens
        outputTokens += o.outputTokens
        cachedTokens += o.cachedTokens
        schemaChecked += o.schemaChecked
        schemaValid += o.schemaValid
        if latency.count < o.latency.count { latency += Array(repeating: 0, count: o.latency.count - latency.count) }
        for (i, n) in o.latency.enumerated() { latency[i] += n }
    }

    /// `part / calls`, or nil without calls.
    public func rate(_ part: Int) -> Double? { calls > 0 ? Double(part) / Double(calls) : nil }

    /// The schema-valid share of the calls that were checked, or nil when none were.
    public var schemaValidRate: Double? { schemaChecked > 0 ? Double(schemaValid) / Double(schemaChecked) : nil }

    /// The q-quantile of latency in ms, or nil without calls.
    public func latencyQuantile(_ q: Double) -> Double? { LatencyHistogram.quantile(q, counts: latency) }
}

/// Number formatting shared by the dashboard's JSON and pages.
public enum DashNumber {
    /// Rounds to `places` decimals (money to 6, rates to 4, ms to 1).
    public static func round(_ v: Double, _ places: Int) -> Double {
        let f = pow(10, Double(places))
        return (v * f).rounded() / f
    }

    /// A JSON number rounded to `places`, or null.
    public static func json(_ v: Double?, _ places: Int) -> JSON { v.map { .double(round($0, places)) } ?? .null }

    /// A JSON array of rounded numbers and nulls.
    public static func array(_ vs: [Double?], _ places: Int) -> JSON { .array(vs.map { json($0, places) }) }
}
