import Foundation
import GRDB
import GRDBSQLite
import SluiceCore

/// Hourly call rollups on SQLite: kept in step by ``SQLiteStore/insert(_:)`` in the batch's transaction.
extension SQLiteStore {
    /// Inserts a call only when its id is new; `sqlite3_changes` then tells a replacement apart.
    static let insertNewSQL =
        "INSERT INTO calls (\(CallColumns.names.joined(separator: ", "))) VALUES ("
        + Array(repeating: "?", count: CallColumns.names.count).joined(separator: ", ") + ") ON CONFLICT (call_id) DO NOTHING"
    static let storedFactsSQL = "SELECT \(RollupColumns.factColumns.joined(separator: ", ")) FROM calls WHERE call_id = ?"
    static let rollupUpsertSQL =
        "INSERT INTO call_rollups (\(RollupColumns.list)) VALUES ("
        + Array(repeating: "?", count: RollupColumns.names.count).joined(separator: ", ") + ")" + RollupColumns.addOnConflict
    static let rollupPruneSQL = "DELETE FROM call_rollups WHERE hour_ms = ? AND purpose = ? AND calls <= 0"

    static let rollupsSQL = "SELECT \(RollupColumns.list) FROM call_rollups WHERE hour_ms >= ?1 AND hour_ms < ?2"
    static let rollupsOrderSQL = " ORDER BY hour_ms, purpose"

    /// Rollups whose hour starts in [from, to), ordered by hour and purpose; purpose nil = all purposes.
    /// Read through the C API: a month is thousands of rows of 89 columns, and GRDB's generic row
    /// decoding would take ten times as long as SQLite does.
    public func rollups(from: Date, to: Date, purpose: String?) async throws -> [CallRollup] {
        let (lo, hi) = RollupColumns.millisRange(from, to)
        let sql = Self.rollupsSQL + (purpose == nil ? "" : " AND purpose = ?3") + Self.rollupsOrderSQL
        return try await pool.read { db in
            let stmt = try db.cachedStatement(sql: sql).sqliteStatement
            sqlite3_reset(stmt)
            sqlite3_clear_bindings(stmt)
            defer { sqlite3_reset(stmt) }
            Cell.int(lo).bind(to: stmt, at: 1)
            Cell.int(hi).bind(to: stmt, at: 2)
            if let purpose { Cell.text(purpose).bind(to: stmt, at: 3) }
            var out: [CallRollup] = []
            while true {
                let rc = sqlite3_step(stmt)
                if rc == SQLITE_DONE { return out }
                guard rc == SQLITE_ROW else {
                    throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
                }
                out.append(
                    CallRollup(
                        hourMs: sqlite3_column_int64(stmt, 0),
                        purpose: sqlite3_column_text(stmt, 1).map { String(cString: $0) } ?? "",
                        int: { sqlite3_column_int64(stmt, Int32($0)) }, double: { sqlite3_column_double(stmt, Int32($0)) }))
            }
        }
    }

    /// Recomputes every rollup from the `calls` table (what migration `013_rollups` does once).
    func rebuildRollups() async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM call_rollups")
            try Self.backfillRollups(db)
        }
    }

    /// Fills the empty `call_rollups` from `calls`; the latency bounds are bound as parameters,
    /// so the slots match ``LatencyHistogram/bucket(forMs:)`` exactly.
    static func backfillRollups(_ db: Database) throws {
        let sql = RollupColumns.backfillSQL { "?\($0 + 1)" }
        try db.execute(sql: sql, arguments: StatementArguments(LatencyHistogram.bounds))
    }

    /// The stored call's contribution to its rollup, when the id exists.
    static func storedFacts(_ callID: String, _ db: Database) throws -> RollupFacts? {
        try Row.fetchOne(db.cachedStatement(sql: storedFactsSQL), arguments: [callID]).map {
            RollupFacts(cells: cells($0, count: RollupColumns.factColumns.count))
        }
    }

    /// Adds the batch's changes to the rollups, then drops rows a replaced call left empty.
    static func applyRollups(_ deltas: RollupDeltas, _ db: Database) throws {
        guard !deltas.isEmpty else { return }
        let upsert = try db.cachedStatement(sql: rollupUpsertSQL).sqliteStatement
        defer { sqlite3_reset(upsert) }
        for row in deltas.rows { try step(upsert, row, db) }
        for key in deltas.shrunkKeys {
            try db.execute(sql: rollupPruneSQL, arguments: [key.hourMs, key.purpose])
        }
    }
}
