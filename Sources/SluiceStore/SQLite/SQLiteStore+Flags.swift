import Foundation
import GRDB

/// Live flags on SQLite: a batch of changes and its audit entries in one write transaction.
extension SQLiteStore {
    public func flags() async throws -> [StoredFlag] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT key, value, actor, updated_at_ms FROM flags ORDER BY key").map {
                StoredFlag(key: $0[0], value: $0[1], actor: $0[2], updatedAt: Date(millis: $0[3]))
            }
        }
    }

    public func changeFlags(
        _ changes: [FlagChange], actor: String, action: String, reason: String?, at: Date, auditID: @Sendable (Int) -> String
    ) async throws -> [AuditEntry]? {
        let ids = (0..<changes.count).map(auditID)
        return try await pool.write { db in
            var current: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT key, value FROM flags") { current[row[0]] = row[1] }
            guard let entries = FlagChange.plan(changes, current: current, actor: actor, action: action, reason: reason, at: at, auditID: { ids[$0] })
            else { return nil }
            for c in changes where current[c.key] != c.value {
                if let value = c.value {
                    try db.execute(
                        sql: """
                            INSERT INTO flags (key, value, actor, updated_at_ms) VALUES (?, ?, ?, ?)
                            ON CONFLICT (key) DO UPDATE SET value = excluded.value, actor = excluded.actor, updated_at_ms = excluded.updated_at_ms
                            """,
                        arguments: [c.key, value, actor, at.millis])
                } else {
                    try db.execute(sql: "DELETE FROM flags WHERE key = ?", arguments: [c.key])
                }
            }
            for e in entries { try Self.insertAudit(db, e) }
            return entries
        }
    }
}
