import Foundation
import SluiceCore
import SluiceStore

/// The grouped part of the cost summary: spend from the ledger and latency percentiles from the
/// call log, per group, sorted and cut to a limit.
extension CostSummary {
    /// How the groups are ordered.
    public enum Sort: String, Sendable, CaseIterable {
        /// Spend, highest first (the ledger's order).
        case cost
        /// p95 latency, slowest first; groups without logged calls last.
        case p95
    }

    /// The `limit` when none is given.
    public static let defaultLimit = 50
    /// The largest `limit` accepted.
    public static let maxLimit = 1_000

    /// The groups of `by` over `from..<to`: each with spend, saved, ledger calls and tokens, and
    /// `logged_calls` with `p50_ms`, `p95_ms` and `p99_ms` from the call log (null when the group has
    /// no logged call). A group present in either source is listed; `limit` keeps the first ones
    /// after sorting, and `total` is the count before the cut. `namedOnly` leaves out the group of
    /// calls without a value (no end user, no key).
    public static func groups(
        store: any LedgerStore, by: LedgerDimension, from: Date, to: Date, sort: Sort = .cost, limit: Int = defaultLimit,
        namedOnly: Bool = false
    ) async throws -> (groups: [JSON], total: Int) {
        let rows = try await groupRows(store: store, by: by, from: from, to: to, namedOnly: namedOnly)
        return shape(rows, by: by, sort: sort, limit: limit)
    }

    /// One group: its ledger totals and its latency percentiles (nil without logged calls).
    typealias GroupRow = (total: LedgerTotal, latency: GroupLatency?)

    /// The groups in the ledger's order (cost, then name), then those with logged calls but no spend, by name.
    static func groupRows(
        store: any LedgerStore, by: LedgerDimension, from: Date, to: Date, namedOnly: Bool
    ) async throws -> [GroupRow] {
        let totals = try await store.ledgerTotals(from: from, to: to, by: by, purpose: nil)
        var latency: [String?: GroupLatency] = [:]
        for l in try await store.latencyPercentiles(from: from, to: to, by: by) { latency[l.group] = l }
        var rows: [GroupRow] = totals.map { ($0, latency.removeValue(forKey: $0.group)) }
        for l in latency.values.sorted(by: { byName($0.group, $1.group) }) {
            rows.append((LedgerTotal(group: l.group, costUSD: 0, savedUSD: 0, calls: 0, inputTokens: 0, outputTokens: 0), l))
        }
        if namedOnly { rows.removeAll { $0.total.group == nil } }
        return rows
    }

    /// `rows` ordered by `sort` (p95 stably, so equal p95 keeps the cost order), the first `limit` as JSON, and the count.
    static func shape(_ rows: [GroupRow], by: LedgerDimension, sort: Sort, limit: Int) -> (groups: [JSON], total: Int) {
        var rows = rows
        if sort == .p95 {
            rows = rows.enumerated().sorted { a, b in
                switch (a.element.latency?.p95Ms, b.element.latency?.p95Ms) {
                case (let x?, let y?) where x != y: return x > y
                case (_?, nil): return true
                case (nil, _?): return false
                default: return a.offset < b.offset
                }
            }.map(\.element)
        }
        let shown = rows.prefix(max(0, limit)).map { t, l -> JSON in
            func ms(_ v: Double?) -> JSON { v.map { .double(($0 * 1000).rounded() / 1000) } ?? .null }
            return [
                by.rawValue: t.group.map(JSON.string) ?? .null, "cost_usd": .double(round(t.costUSD)),
                "saved_usd": .double(round(t.savedUSD)), "calls": .int(t.calls),
                "input_tokens": .int(t.inputTokens), "output_tokens": .int(t.outputTokens),
                "logged_calls": .int(l?.calls ?? 0), "p50_ms": ms(l?.p50Ms), "p95_ms": ms(l?.p95Ms), "p99_ms": ms(l?.p99Ms),
            ]
        }
        return (Array(shown), rows.count)
    }

    /// Byte-wise order of group values, `nil` last (the ledger's tie order).
    static func byName(_ a: String?, _ b: String?) -> Bool {
        switch (a, b) {
        case (let x?, let y?): return Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8))
        case (_?, nil): return true
        default: return false
        }
    }
}
