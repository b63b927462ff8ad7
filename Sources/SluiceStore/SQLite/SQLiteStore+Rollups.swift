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

    /// Rollups whose hour starts in [from, to), ordered by hour and purpose; purpose nil = all purposes.
    public func rollups(from: Date, to: Date, purpose: String?) async throws -> [CallRollup] {
        let (lo, hi) = RollupColumns.millisRange(from, to)
        var sql = "SELECT \(RollupColumns.list) FROM call_rollups WHERE hour_ms >= ? AND hour_ms < ?"
        var args: [DatabaseValue] = [lo.databaseValue, hi.databaseValue]
        if let purpose {
            sql += " AND purpose = ?"
            args.append(purpose.databaseValue)
        }
        sql += " ORDER BY hour_ms, purpose"
        let finalSQL = sql
        let finalArgs = args
        return try await pool.read { db in
            try Row.fetchAll(db, sql: finalSQL, arguments: StatementArguments(finalArgs)).map {
                CallRollup(cells: Self.cells($0, count: RollupColumns.names.count))
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
