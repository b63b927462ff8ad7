import Foundation
import Logging
import PostgresNIO

/// Live flags on PostgreSQL: a batch of changes and its audit entries in one
/// transaction, serialized across nodes by a transaction-scoped advisory lock so
/// every audit entry's old value is the one it replaced.
extension PostgresStore {
    public func flags() async throws -> [StoredFlag] {
        try await rows("read flags", "SELECT key, value, actor, updated_at_ms FROM flags ORDER BY key").map { row in
            let (key, value, actor, at) = try row.decode((String, String, String, Int64).self)
            return StoredFlag(key: key, value: value, actor: actor, updatedAt: Date(millis: at))
        }
    }

    public func changeFlags(
        _ changes: [FlagChange], actor: String, action: String, reason: String?, at: Date, auditID: @Sendable (Int) -> String
    ) async throws -> [AuditEntry]? {
        let logger = self.logger
        let schema = url.schema
        let ids = (0..<changes.count).map(auditID)
        return try await run("change flags") { client in
            try await client.withTransaction(logger: logger) { conn -> [AuditEntry]? in
                try await conn.query(
                    PostgresQuery(unsafeSQL: "SELECT pg_advisory_xact_lock(hashtext('sluice_flags_\(schema)'))"), logger: logger)
                var current: [String: String] = [:]
                for try await (key, value) in try await conn.query("SELECT key, value FROM flags", logger: logger).decode((String, String).self) {
                    current[key] = value
                }
                guard
                    let entries = FlagChange.plan(
                        changes, current: current, actor: actor, action: action, reason: reason, at: at, auditID: { ids[$0] })
                else { return nil }
                for c in changes where current[c.key] != c.value {
                    if let value = c.value {
                        try await conn.query(
                            Self.query(
                                """
                                INSERT INTO flags (key, value, actor, updated_at_ms) VALUES ($1, $2, $3, $4)
                                ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, actor = EXCLUDED.actor,
                                    updated_at_ms = EXCLUDED.updated_at_ms
                                """, [.text(c.key), .text(value), .text(actor), .int(at.millis)]), logger: logger)
                    } else {
                        try await conn.query(Self.query("DELETE FROM flags WHERE key = $1", [.text(c.key)]), logger: logger)
                    }
                }
                for e in entries {
                    try await conn.query(
                        Self.query(
                            """
                            INSERT INTO audit_log (audit_id, at_ms, actor, action, target, reason, old_value, new_value)
                            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                            """, Self.auditCells(e)), logger: logger)
                }
                return entries
            }
        }
    }
}
