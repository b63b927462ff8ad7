import Foundation
import GRDB

/// The spend ledger on SQLite. Entries are written by ``SQLiteStore/insert(_:)``.
extension SQLiteStore {
    static let ledgerUpsertSQL =
        "INSERT OR REPLACE INTO ledger (\(LedgerColumns.list)) VALUES ("
        + Array(repeating: "?", count: LedgerColumns.names.count).joined(separator: ", ") + ")"
    static let ledgerDeleteSQL = "DELETE FROM ledger WHERE call_id = ?"

    /// The entry of one call, if it has one.
    public func ledgerEntry(callID: String) async throws -> LedgerEntry? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(LedgerColumns.list) FROM ledger WHERE call_id = ?", arguments: [callID])
                .map { LedgerEntry(cells: Self.cells($0, count: LedgerColumns.names.count)) }
        }
    }

    /// Totals of entries with `from <= at < to`, grouped by `by` (one row, zeros when empty, if `nil`),
    /// optionally one purpose; sorted by cost, highest first, then by group.
    public func ledgerTotals(from: Date, to: Date, by: LedgerDimension?, purpose: String?) async throws -> [LedgerTotal] {
        let window = LedgerWindow(.sqlite, from: from, to: to, purpose: purpose)
        let (sql, values) = (window.totalsSQL(by: by), window.values.map(\.databaseValue))
        return try await pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments(values)).map { row in
                LedgerTotal(
                    group: row[0], costUSD: row[1], savedUSD: row[2], calls: row[3], inputTokens: row[4], outputTokens: row[5])
            }
        }
    }

    /// USD spent per UTC day (`YYYY-MM-DD`) with `from <= at < to`, optionally one purpose; days without spend are absent.
    public func ledgerDaily(from: Date, to: Date, purpose: String?) async throws -> [String: Double] {
        let window = LedgerWindow(.sqlite, from: from, to: to, purpose: purpose)
        let (sql, values) = (window.dailySQL, window.values.map(\.databaseValue))
        return try await pool.read { db in
            var days: [String: Double] = [:]
            for row in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(values)) { days[row[0]] = row[1] }
            return days
        }
    }

    /// Calls and errors (status `error` or `stream_interrupted`) created with `from <= created_at < to`, optionally one purpose.
    public func callCounts(from: Date, to: Date, purpose: String?) async throws -> CallCounts {
        let window = LedgerWindow(.sqlite, from: from, to: to, purpose: purpose)
        let (sql, values) = (window.countsSQL, window.values.map(\.databaseValue))
        return try await pool.read { db in
            let row = try Row.fetchOne(db, sql: sql, arguments: StatementArguments(values))
            return CallCounts(calls: row?[0] ?? 0, errors: row?[1] ?? 0)
        }
    }
}
