import Foundation
import GRDB

/// Kill switches and the audit log on SQLite.
extension SQLiteStore {
    @discardableResult
    public func setKill(_ kill: KillSwitch, audit: AuditEntry) async throws -> KillSwitch? {
        try await pool.write { db in
            let old = try Self.fetchKill(db, scope: kill.scope, name: kill.name)
            try db.execute(
                sql: """
                    INSERT INTO kill_switches (scope, name, reason, actor, created_at_ms) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (scope, name) DO UPDATE SET reason = excluded.reason, actor = excluded.actor,
                        created_at_ms = excluded.created_at_ms
                    """,
                arguments: [kill.scope.rawValue, kill.name, kill.reason, kill.actor, kill.createdAt.millis])
            try Self.insertAudit(db, audit)
            return old
        }
    }

    public func removeKill(scope: KillSwitch.Scope, name: String, audit: AuditEntry) async throws -> KillSwitch? {
        try await pool.write { db in
            guard let old = try Self.fetchKill(db, scope: scope, name: name) else { return nil }
            try db.execute(sql: "DELETE FROM kill_switches WHERE scope = ? AND name = ?", arguments: [scope.rawValue, name])
            try Self.insertAudit(db, audit)
            return old
        }
    }

    public func kills() async throws -> [KillSwitch] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT scope, name, reason, actor, created_at_ms FROM kill_switches ORDER BY scope, name")
                .compactMap(Self.kill)
        }
    }

    public func appendAudit(_ entry: AuditEntry) async throws {
        try await pool.write { db in try Self.insertAudit(db, entry) }
    }

    public func audit(limit: Int, before: String?) async throws -> [AuditEntry] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT audit_id, at_ms, actor, action, target, reason, old_value, new_value FROM audit_log
                    WHERE (? IS NULL OR audit_id < ?) ORDER BY audit_id DESC LIMIT ?
                    """,
                arguments: [before, before, max(0, limit)]
            ).map { row in
                AuditEntry(
                    id: row[0], at: Date(millis: row[1]), actor: row[2], action: row[3], target: row[4], reason: row[5],
                    oldValue: row[6], newValue: row[7])
            }
        }
    }

    static func fetchKill(_ db: Database, scope: KillSwitch.Scope, name: String) throws -> KillSwitch? {
        try Row.fetchOne(
            db, sql: "SELECT scope, name, reason, actor, created_at_ms FROM kill_switches WHERE scope = ? AND name = ?",
            arguments: [scope.rawValue, name]
        ).flatMap(kill)
    }

    static func kill(_ row: Row) -> KillSwitch? {
        guard let scope = KillSwitch.Scope(rawValue: row[0]) else { return nil }
        return KillSwitch(scope: scope, name: row[1], reason: row[2], actor: row[3], createdAt: Date(millis: row[4]))
    }

    static func insertAudit(_ db: Database, _ e: AuditEntry) throws {
        try db.execute(
            sql: """
                INSERT INTO audit_log (audit_id, at_ms, actor, action, target, reason, old_value, new_value)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [e.id, e.at.millis, e.actor, e.action, e.target, e.reason, e.oldValue, e.newValue])
    }
}
