import Foundation
import PostgresNIO
import SluiceCore

/// The call log and keys on PostgreSQL.
extension PostgresStore {
    static let quotedColumns = CallColumns.names.map { "\"\($0)\"" }
    static let selectSQL = "SELECT \(quotedColumns.joined(separator: ", ")) FROM calls"
    static let upsertTail =
        " ON CONFLICT (call_id) DO UPDATE SET "
        + quotedColumns.dropFirst().map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")
    /// Rows per statement: PostgreSQL allows 65,535 parameters.
    static let rowsPerStatement = 1_000

    /// Writes the records in one transaction, multi-row statements of up to 1,000 rows; an existing id is replaced.
    /// Each record's ledger entry is written (or, when it no longer gets one, deleted) and its hour's
    /// rollup updated in the same transaction (see `PostgresStore+Rollups.swift`).
    public func insert(_ records: [CallRecord]) async throws {
        try await insertCallsAndRollups(records)
    }

    /// Upserts `rows` in one transaction, as multi-row statements of up to `rowsPerStatement`;
    /// the last row per key wins, since one statement may not touch a row twice. After each
    /// statement the transaction runs `then`'s statement for the same rows, if it makes one.
    func upsertInBatches<Row>(
        _ operation: String, _ rows: [Row], key: (Row) -> String, rowsPerStatement: Int,
        _ query: (ArraySlice<Row>) -> PostgresQuery, then: (ArraySlice<Row>) -> PostgresQuery? = { _ in nil }
    ) async throws {
        guard !rows.isEmpty else { return }
        var seen = Set<String>()
        var unique: [Row] = []
        unique.reserveCapacity(rows.count)
        for r in rows.reversed() where seen.insert(key(r)).inserted { unique.append(r) }
        unique.reverse()
        let queries = stride(from: 0, to: unique.count, by: rowsPerStatement).flatMap { start in
            let chunk = unique[start..<min(start + rowsPerStatement, unique.count)]
            return [query(chunk)] + [then(chunk)].compactMap { $0 }
        }
        let logger = self.logger
        try await run(operation) { client in
            try await client.withTransaction(logger: logger) { conn in
                for q in queries { try await conn.query(q, logger: logger) }
            }
        }
    }

    static func insertQuery(_ rows: ArraySlice<CallRecord>, cipher: BodyCipher?) -> PostgresQuery {
        let width = CallColumns.names.count
        var sql = "INSERT INTO calls (\(quotedColumns.joined(separator: ", "))) VALUES "
        sql.reserveCapacity(sql.utf8.count + rows.count * width * 6 + upsertTail.utf8.count)
        var binds = PostgresBindings(capacity: rows.count * width)
        appendValues(rows.lazy.map { $0.cells(sealedBy: cipher) }, to: &sql, &binds)
        sql += upsertTail
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    /// Appends `(…), (…)` rows of placeholders to `sql`, numbered after the binds already present, and binds the cells.
    static func appendValues(_ rows: some Sequence<[Cell]>, to sql: inout String, _ binds: inout PostgresBindings) {
        var n = binds.count
        for (i, cells) in rows.enumerated() {
            sql += i == 0 ? "(" : ", ("
            for (j, cell) in cells.enumerated() {
                n += 1
                sql += j == 0 ? "$\(n)" : ", $\(n)"
                switch cell {
                case .null: binds.appendNull()
                case .int(let v): binds.append(v)
                case .double(let v): binds.append(v)
                case .text(let v): binds.append(v)
                }
            }
            sql += ")"
        }
    }

    /// Calls matching `filter`, newest first; `limit` is clamped to 1…1000.
    public func list(_ filter: CallFilter) async throws -> [CallRecord] {
        var clauses: [String] = []
        var values: [Cell] = []
        func add(_ column: String, _ op: String, _ value: Cell) {
            values.append(value)
            clauses.append("\(column) \(op) $\(values.count)")
        }
        if let v = filter.purpose { add("purpose", "=", .text(v)) }
        if let v = filter.model { add("model", "=", .text(v)) }
        if let v = filter.status { add("status", "=", .text(v)) }
        if let v = filter.runID { add("run_id", "=", .text(v)) }
        if let v = filter.variant { add("variant", "=", .text(v)) }
        if let v = filter.since {
            let ms = (v.timeIntervalSince1970 * 1000).rounded(.down)
            add("created_at_ms", ">=", .int(Int64(ms.isFinite ? max(-1e17, min(1e17, ms)) : 0)))
        }
        if let v = filter.before { add("call_id", "<", .text(v)) }
        var sql = Self.selectSQL
        if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
        values.append(.int(Int64(max(1, min(filter.limit, 1000)))))
        sql += " ORDER BY call_id DESC LIMIT $\(values.count)"
        return try await rows("list calls", sql, values).map { [cipher] in try Self.record($0, cipher: cipher) }
    }

    /// The call with this id, or `nil`.
    public func get(_ callID: String) async throws -> CallRecord? {
        try await rows("get call", Self.selectSQL + " WHERE call_id = $1", [.text(callID)]).first.map { [cipher] in try Self.record($0, cipher: cipher) }
    }

    /// The number of stored calls.
    public func count() async throws -> Int {
        let r = try await rows("count calls", "SELECT COUNT(*)::BIGINT FROM calls")
        return Int(try r.first?.decode(Int64.self) ?? 0)
    }

    /// Inserts the keys; a key renamed or re-issued replaces the old row.
    ///
    /// Nodes starting together all write their keys at once. A row can conflict on its name or
    /// on its hash, and `ON CONFLICT` handles only one of them, so concurrent writers would hit
    /// unique violations or deadlocks: a transaction-scoped advisory lock makes them take turns.
    public func upsertKeys(_ keys: [StoredKey]) async throws {
        guard !keys.isEmpty else { return }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let logger = self.logger
        let lock = "sluice_keys_\(url.schema)"
        try await run("upsert keys") { client in
            try await client.withTransaction(logger: logger) { conn in
                try await conn.query("SELECT pg_advisory_xact_lock(hashtext(\(lock)))", logger: logger)
                for k in keys {
                    let purposes = JSON.array(k.purposes.map(JSON.string)).jsonString
                    try await conn.query(
                        "DELETE FROM api_keys WHERE key_hash = \(k.keyHash) AND name <> \(k.name)", logger: logger)
                    try await conn.query(
                        """
                        INSERT INTO api_keys (name, key_hash, purposes, created_at_ms)
                        VALUES (\(k.name), \(k.keyHash), \(purposes), \(now))
                        ON CONFLICT (name) DO UPDATE SET key_hash = EXCLUDED.key_hash, purposes = EXCLUDED.purposes
                        """, logger: logger)
                }
            }
        }
    }

    /// Every stored key, ordered by name.
    public func listKeys() async throws -> [StoredKey] {
        try await rows("list keys", "SELECT name, key_hash, purposes FROM api_keys ORDER BY name").map { row in
            let (name, hash, purposes) = try row.decode((String, String, String).self)
            let list = (try? JSON.parse(purposes))?.arrayValue?.compactMap(\.stringValue) ?? []
            return StoredKey(name: name, keyHash: hash, purposes: list)
        }
    }

    static func record(_ row: PostgresRow, cipher: BodyCipher?) throws -> CallRecord {
        CallRecord(cells: try cells(row, kinds: CallColumns.kinds), cipher: cipher)
    }

    /// The row's columns as cells, decoded as `kinds` says.
    static func cells(_ row: PostgresRow, kinds: [CallColumns.Kind]) throws -> [Cell] {
        var cells: [Cell] = []
        cells.reserveCapacity(kinds.count)
        for (cell, kind) in zip(row, kinds) {
            switch kind {
            case .text: cells.append(try cell.decode(String?.self).map(Cell.text) ?? .null)
            case .int: cells.append(try cell.decode(Int64?.self).map(Cell.int) ?? .null)
            case .double: cells.append(try cell.decode(Double?.self).map(Cell.double) ?? .null)
            }
        }
        return cells
    }
}
