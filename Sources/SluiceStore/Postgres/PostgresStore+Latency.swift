import Foundation
import PostgresNIO

/// Latency percentiles per group from the shared call log on PostgreSQL.
extension PostgresStore {
    /// Per group of `by`, nearest-rank p50/p95/p99 latency of the calls created with `from <= created_at < to`
    /// (shadow runs left out), in no particular order; see ``GroupLatency``.
    public func latencyPercentiles(from: Date, to: Date, by: LedgerDimension) async throws -> [GroupLatency] {
        let window = LedgerWindow(.postgres, from: from, to: to, purpose: nil)
        return try await rows("latency percentiles", window.latencySQL(by: by), window.values).map { row in
            let (group, n, p50, p95, p99) = try row.decode((String?, Int64, Double?, Double?, Double?).self)
            return GroupLatency(group: group, calls: Int(n), p50Ms: p50 ?? 0, p95Ms: p95 ?? 0, p99Ms: p99 ?? 0)
        }
    }
}
