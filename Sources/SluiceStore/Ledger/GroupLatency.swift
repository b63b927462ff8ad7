import Foundation

/// Latency percentiles of the logged calls of one group (an end user, a key…) in a window.
///
/// The percentiles are exact nearest-rank values over every call in the call log with
/// `from <= created_at < to`, failed, unpriced and cache-hit calls included and shadow runs
/// (`shadow_of` set) left out: the p-th percentile is the smallest latency such that at least
/// p % of the group's calls took no longer.
public struct GroupLatency: Sendable, Equatable {
    /// The group's value (`nil` for calls without one).
    public var group: String?
    /// Calls in the call log the percentiles are taken over.
    public var calls: Int
    /// Median latency in milliseconds.
    public var p50Ms: Double
    /// 95th-percentile latency in milliseconds.
    public var p95Ms: Double
    /// 99th-percentile latency in milliseconds.
    public var p99Ms: Double

    /// Percentiles; see the properties.
    public init(group: String?, calls: Int, p50Ms: Double, p95Ms: Double, p99Ms: Double) {
        self.group = group
        self.calls = calls
        self.p50Ms = p50Ms
        self.p95Ms = p95Ms
        self.p99Ms = p99Ms
    }

    /// The 1-based nearest rank of percentile `p` (0…100) among `n` sorted values: ⌈p·n/100⌉, at least 1.
    public static func rank(_ p: Int, of n: Int) -> Int { max(1, (p * n + 99) / 100) }

    /// Nearest-rank percentiles of `latencies` (any order), as the stores compute them; `nil` when empty.
    public static func of(_ latencies: [Double], group: String?) -> GroupLatency? {
        guard !latencies.isEmpty else { return nil }
        let sorted = latencies.sorted()
        func at(_ p: Int) -> Double { sorted[rank(p, of: sorted.count) - 1] }
        return GroupLatency(group: group, calls: sorted.count, p50Ms: at(50), p95Ms: at(95), p99Ms: at(99))
    }
}

extension LedgerDimension {
    /// The `calls` table column holding the same value as the ledger's ``column`` (quoted where it is a keyword).
    var callsColumn: String {
        switch self {
        case .purpose: return "purpose"
        case .model: return "model"
        case .key: return "key_name"
        case .user: return #""user""#
        case .provider: return "provider"
        case .run: return "run_id"
        }
    }
}

extension LedgerWindow {
    /// Per group of `by`: the group, its call count and its p50, p95 and p99 latencies (nearest rank),
    /// over the calls created in the window, shadow runs left out. The database ranks the rows with
    /// window functions and returns three per group at most, so no latency list leaves it.
    func latencySQL(by: LedgerDimension) -> String {
        let c = by.callsColumn
        let ranks = [50, 95, 99].map { "(\($0) * n + 99) / 100" }
        return """
            SELECT g, n, \(ranks.map { "MAX(CASE WHEN rn = \($0) THEN latency_ms END)" }.joined(separator: ", "))
            FROM (
                SELECT \(c) AS g, latency_ms,
                    ROW_NUMBER() OVER (PARTITION BY \(c) ORDER BY latency_ms) AS rn,
                    COUNT(*) OVER (PARTITION BY \(c)) AS n
                FROM calls \(whereClause("created_at_ms")) AND shadow_of IS NULL
            ) ranked
            WHERE rn IN (\(ranks.joined(separator: ", ")))
            GROUP BY g, n
            """
    }
}
