import Foundation
import GRDB

/// Latency percentiles per group from the call log on SQLite.
extension SQLiteStore {
    /// Per group of `by`, nearest-rank p50/p95/p99 latency of the calls created with `from <= created_at < to`
    /// (shadow runs left out), in no particular order; see ``GroupLatency``.
    public func latencyPercentiles(from: Date, to: Date, by: LedgerDimension) async throws -> [GroupLatency] {
        let window = LedgerWindow(.sqlite, from: from, to: to, purpose: nil)
        let (sql, values) = (window.latencySQL(by: by), window.values.map(\.databaseValue))
        return try await pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments(values)).map { row in
                GroupLatency(group: row[0], calls: row[1], p50Ms: row[2] ?? 0, p95Ms: row[3] ?? 0, p99Ms: row[4] ?? 0)
            }
        }
    }
}
