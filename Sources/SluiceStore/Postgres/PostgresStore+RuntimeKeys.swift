import Foundation
import PostgresNIO

/// Runtime virtual keys on PostgreSQL. Each change and its audit entry are one
/// statement, so neither is ever written without the other.
extension PostgresStore {
    static let auditInsert = "INSERT INTO audit_log (audit_id, at_ms, actor, action, target, reason, old_value, new_value)"

    static func auditMarks(from n: Int) -> String {
        (n..<n + 8).map { "$\($0)" }.joined(separator: ", ")
    }

    public func createRuntimeKey(_ key: RuntimeKey, audit: AuditEntry) async throws {
        let count = RuntimeKeyColumns.names.count
        let marks = (1...count).map { "$\($0)" }.joined(separator: ", ")
        _ = try await rows(
            "create key",
            """
            WITH k AS (INSERT INTO runtime_keys (\(RuntimeKeyColumns.list)) VALUES (\(marks)) RETURNING 1),
            a AS (\(Self.auditInsert) VALUES (\(Self.auditMarks(from: count + 1))) RETURNING 1)
            SELECT 1 FROM k, a
            """, key.cells + Self.auditCells(audit))
    }

    public func runtimeKeys() async throws -> [RuntimeKey] {
        try await rows("read keys", "SELECT \(RuntimeKeyColumns.list) FROM runtime_keys ORDER BY id")
            .map { RuntimeKey(cells: try Self.cells($0, kinds: RuntimeKeyColumns.kinds)) }
    }

    public func runtimeKey(id: String) async throws -> RuntimeKey? {
        try await rows("read key", "SELECT \(RuntimeKeyColumns.list) FROM runtime_keys WHERE id = $1", [.text(id)])
            .first.map { RuntimeKey(cells: try Self.cells($0, kinds: RuntimeKeyColumns.kinds)) }
    }

    public func revokeRuntimeKey(id: String, at: Date, audit: AuditEntry) async throws -> RuntimeKey? {
        try await rows(
            "revoke key",
            """
            WITH u AS (
                UPDATE runtime_keys SET revoked_at_ms = $2 WHERE id = $1 AND revoked_at_ms IS NULL
                RETURNING \(RuntimeKeyColumns.list)
            ), a AS (\(Self.auditInsert) SELECT \(Self.auditMarks(from: 3)) FROM u RETURNING 1)
            SELECT \(RuntimeKeyColumns.list) FROM u
            """, [.text(id), .int(at.millis)] + Self.auditCells(audit)
        ).first.map { RuntimeKey(cells: try Self.cells($0, kinds: RuntimeKeyColumns.kinds)) }
    }

    public func rotateRuntimeKey(id: String, keyHash: String, prefix: String, previousValidUntil: Date?, audit: AuditEntry) async throws
        -> RuntimeKey?
    {
        // Every SET expression reads the row as it was, so previous_hash takes the old key_hash.
        try await rows(
            "rotate key",
            """
            WITH u AS (
                UPDATE runtime_keys SET previous_hash = CASE WHEN $4::BIGINT IS NULL THEN NULL ELSE key_hash END,
                    previous_valid_until_ms = $4::BIGINT, key_hash = $2, prefix = $3
                WHERE id = $1 AND revoked_at_ms IS NULL
                RETURNING \(RuntimeKeyColumns.list)
            ), a AS (\(Self.auditInsert) SELECT \(Self.auditMarks(from: 5)) FROM u RETURNING 1)
            SELECT \(RuntimeKeyColumns.list) FROM u
            """,
            [.text(id), .text(keyHash), .text(prefix), previousValidUntil.map { .int($0.millis) } ?? .null] + Self.auditCells(audit)
        ).first.map { RuntimeKey(cells: try Self.cells($0, kinds: RuntimeKeyColumns.kinds)) }
    }
}
