import Foundation
import GRDB

/// Runtime virtual keys on SQLite: each change and its audit entry in one write transaction.
extension SQLiteStore {
    public func createRuntimeKey(_ key: RuntimeKey, audit: AuditEntry) async throws {
        let cells = key.cells
        try await pool.write { db in
            let marks = Array(repeating: "?", count: cells.count).joined(separator: ", ")
            try db.execute(
                sql: "INSERT INTO runtime_keys (\(RuntimeKeyColumns.list)) VALUES (\(marks))",
                arguments: StatementArguments(cells.map(\.databaseValue)))
            try Self.insertAudit(db, audit)
        }
    }

    public func runtimeKeys() async throws -> [RuntimeKey] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT \(RuntimeKeyColumns.list) FROM runtime_keys ORDER BY id")
                .map { RuntimeKey(cells: Self.cells($0, count: RuntimeKeyColumns.names.count)) }
        }
    }

    public func runtimeKey(id: String) async throws -> RuntimeKey? {
        try await pool.read { db in try Self.fetchRuntimeKey(db, id: id) }
    }

    public func revokeRuntimeKey(id: String, at: Date, audit: AuditEntry) async throws -> RuntimeKey? {
        try await pool.write { db in
            guard var key = try Self.fetchRuntimeKey(db, id: id), key.revokedAt == nil else { return nil }
            key.revokedAt = at
            try db.execute(sql: "UPDATE runtime_keys SET revoked_at_ms = ? WHERE id = ?", arguments: [at.millis, id])
            try Self.insertAudit(db, audit)
            return key
        }
    }

    public func rotateRuntimeKey(id: String, keyHash: String, prefix: String, previousValidUntil: Date?, audit: AuditEntry) async throws
        -> RuntimeKey?
    {
        try await pool.write { db in
            guard var key = try Self.fetchRuntimeKey(db, id: id), key.revokedAt == nil else { return nil }
            key.previousHash = previousValidUntil == nil ? nil : key.keyHash
            key.previousValidUntil = previousValidUntil
            key.keyHash = keyHash
            key.prefix = prefix
            try db.execute(
                sql: """
                    UPDATE runtime_keys SET key_hash = ?, prefix = ?, previous_hash = ?, previous_valid_until_ms = ?
                    WHERE id = ?
                    """,
                arguments: [keyHash, prefix, key.previousHash, key.previousValidUntil?.millis, id])
            try Self.insertAudit(db, audit)
            return key
        }
    }

    static func fetchRuntimeKey(_ db: Database, id: String) throws -> RuntimeKey? {
        try Row.fetchOne(db, sql: "SELECT \(RuntimeKeyColumns.list) FROM runtime_keys WHERE id = ?", arguments: [id])
            .map { RuntimeKey(cells: cells($0, count: RuntimeKeyColumns.names.count)) }
    }
}
