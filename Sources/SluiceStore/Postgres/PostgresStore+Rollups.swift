import Foundation
import PostgresNIO
import SluiceCore

/// Hourly call rollups on PostgreSQL, kept in step by ``PostgresStore/insert(_:)``.
///
/// Several nodes write at once: new calls go in with `ON CONFLICT DO NOTHING` (which waits for
/// another node's uncommitted row of the same id), the ids that already existed are locked and
/// read back before they are replaced, and the per-hour sums are added with `ON CONFLICT DO
/// UPDATE … = call_rollups.x + excluded.x`, rows in (hour, purpose) order so writers never deadlock.
extension PostgresStore {
    static let insertNewTail = " ON CONFLICT (call_id) DO NOTHING RETURNING call_id"
    static let storedFactsSQL =
        "SELECT \(RollupColumns.factColumns.joined(separator: ", ")) FROM calls WHERE call_id = ANY($1) ORDER BY call_id FOR UPDATE"
    /// Rollup rows per upsert statement (89 parameters each, under PostgreSQL's 65,535).
    static let rollupRowsPerStatement = 500

    /// Writes calls, their ledger entries and their rollups in one transaction (see ``insert(_:)``);
    /// the last record of an id wins.
    func insertCallsAndRollups(_ records: [CallRecord]) async throws {
        guard !records.isEmpty else { return }
        var seen = Set<String>()
        var unique: [CallRecord] = []
        unique.reserveCapacity(records.count)
        for r in records.reversed() where seen.insert(r.callID).inserted { unique.append(r) }
        unique.reverse()
        let cipher = self.cipher
        let chunks = stride(from: 0, to: unique.count, by: Self.rowsPerStatement).map { start in
            let chunk = unique[start..<min(start + Self.rowsPerStatement, unique.count)]
            return (records: chunk, fresh: Self.insertNewQuery(chunk, cipher: cipher), ledger: Self.ledgerQuery(chunk))
        }
        let logger = self.logger
        try await run("insert calls") { client in
            try await client.withTransaction(logger: logger) { conn in
                var deltas = RollupDeltas()
                for chunk in chunks {
                    var inserted = Set<String>()
                    for try await id in try await conn.query(chunk.fresh, logger: logger).decode(String.self) { inserted.insert(id) }
                    let replaced = chunk.records.filter { !inserted.contains($0.callID) }
                    if !replaced.isEmpty {
                        // Lock the stored rows, take their contribution away, then replace them.
                        let ids = replaced.map(\.callID)
                        let old = PostgresQuery(unsafeSQL: Self.storedFactsSQL, binds: { var b = PostgresBindings(); b.append(ids); return b }())
                        for try await row in try await conn.query(old, logger: logger) {
                            deltas.remove(RollupFacts(cells: try Self.cells(row, kinds: RollupColumns.factKinds)))
                        }
                        try await conn.query(Self.insertQuery(replaced[...], cipher: cipher), logger: logger)
                    }
                    for r in chunk.records { deltas.add(RollupFacts(r)) }
                    if let ledger = chunk.ledger { try await conn.query(ledger, logger: logger) }
                }
                for q in Self.rollupQueries(deltas) { try await conn.query(q, logger: logger) }
            }
        }
    }

    /// A multi-row insert of calls whose ids are new; it returns the ids it inserted.
    static func insertNewQuery(_ rows: ArraySlice<CallRecord>, cipher: BodyCipher?) -> PostgresQuery {
        var sql = "INSERT INTO calls (\(quotedColumns.joined(separator: ", "))) VALUES "
        var binds = PostgresBindings(capacity: rows.count * CallColumns.names.count)
        appendValues(rows.lazy.map { $0.cells(sealedBy: cipher) }, to: &sql, &binds)
        sql += insertNewTail
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    /// The additive upserts of a batch's rollup changes, then the removal of rows a replaced call left empty.
    static func rollupQueries(_ deltas: RollupDeltas) -> [PostgresQuery] {
        let rows = deltas.rows
        var out = stride(from: 0, to: rows.count, by: rollupRowsPerStatement).map { start in
            var sql = "INSERT INTO call_rollups (\(RollupColumns.list)) VALUES "
            var binds = PostgresBindings(capacity: min(rollupRowsPerStatement, rows.count - start) * RollupColumns.names.count)
            appendValues(rows[start..<min(start + rollupRowsPerStatement, rows.count)], to: &sql, &binds)
            sql += RollupColumns.addOnConflict
            return PostgresQuery(unsafeSQL: sql, binds: binds)
        }
        let shrunk = deltas.shrunkKeys
        if !shrunk.isEmpty {
            var binds = PostgresBindings()
            binds.append(shrunk.map(\.hourMs))
            binds.append(shrunk.map(\.purpose))
            out.append(
                PostgresQuery(
                    unsafeSQL: """
                        DELETE FROM call_rollups WHERE calls <= 0
                        AND (hour_ms, purpose) IN (SELECT * FROM unnest($1::BIGINT[], $2::TEXT[]))
                        """, binds: binds))
        }
        return out
    }

    /// The key, the money sums, and every whole-number column as one comma-separated text: a
    /// month is thousands of rows, and postgres-nio's generic decoding of 89 cells each took
    /// several times as long as the query.
    static let rollupsSQL =
        "SELECT hour_ms, purpose, cost_usd, saved_usd, concat_ws(',', "
        + (RollupColumns.counters + RollupColumns.latency).joined(separator: ", ")
        + ") FROM call_rollups WHERE hour_ms >= $1 AND hour_ms < $2"

    /// Rollups whose hour starts in [from, to), ordered by hour and purpose; purpose nil = all purposes.
    public func rollups(from: Date, to: Date, purpose: String?) async throws -> [CallRollup] {
        let (lo, hi) = RollupColumns.millisRange(from, to)
        var sql = Self.rollupsSQL
        var values: [Cell] = [.int(lo), .int(hi)]
        if let purpose {
            values.append(.text(purpose))
            sql += " AND purpose = $3"
        }
        sql += " ORDER BY hour_ms, purpose"
        let counters = RollupColumns.counters.count
        return try await rows("read rollups", sql, values).map { row in
            let (hour, purpose, cost, saved, text) = try row.decode((Int64, String, Double, Double, String).self)
            let ints = Self.integers(text)
            // `ints` holds the counters (names index 2…) then the latency slots (names index 14…).
            return CallRollup(
                hourMs: hour, purpose: purpose,
                int: { i in
                    let k = i < 2 + counters ? i - 2 : i - 4
                    return ints.indices.contains(k) ? ints[k] : 0
                },
                double: { $0 == 12 ? cost : saved })
        }
    }

    /// The integers of a comma-separated list.
    static func integers(_ text: String) -> [Int64] {
        var out: [Int64] = []
        out.reserveCapacity(RollupColumns.counters.count + RollupColumns.latency.count)
        var value: Int64 = 0
        var negative = false
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = value &* 10 &+ Int64(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "-"): negative = true
            default:
                out.append(negative ? -value : value)
                value = 0
                negative = false
            }
        }
        out.append(negative ? -value : value)
        return out
    }

    /// Recomputes every rollup from the `calls` table (what migration `013_rollups` does once),
    /// holding writers of new calls off until it commits.
    func rebuildRollups() async throws {
        let logger = self.logger
        try await run("rebuild rollups", timeout: .seconds(120)) { client in
            try await client.withTransaction(logger: logger) { conn in
                try await conn.query("SET LOCAL statement_timeout = 121000", logger: logger)
                try await conn.query("LOCK TABLE calls IN SHARE MODE", logger: logger)
                try await conn.query("DELETE FROM call_rollups", logger: logger)
                try await conn.query(PostgresQuery(unsafeSQL: RollupColumns.backfillSQL(bound: RollupColumns.postgresBound)), logger: logger)
            }
        }
    }
}
