import Foundation
import PostgresNIO

/// Kill switches and the audit log on PostgreSQL. Each change and its audit
/// entry are one statement, so neither is ever written without the other.
extension PostgresStore {
    static let setKillSQL = """
        WITH old AS (
            SELECT reason, actor, created_at_ms FROM kill_switches WHERE scope = $1 AND name = $2
        ), up AS (
            INSERT INTO kill_switches (scope, name, reason, actor, created_at_ms) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (scope, name) DO UPDATE SET reason = EXCLUDED.reason, actor = EXCLUDED.actor,
                created_at_ms = EXCLUDED.created_at_ms
            RETURNING 1
        ), a AS (
            INSERT INTO audit_log (audit_id, at_ms, actor, action, target, reason, old_value, new_value)
            VALUES ($6, $7, $8, $9, $10, $11, $12, $13) RETURNING 1
        )
        SELECT reason, actor, created_at_ms FROM old, up, a
        """

    @discardableResult
    public func setKill(_ kill: KillSwitch, audit: AuditEntry) async throws -> KillSwitch? {
        let rows = try await rows(
            "set kill switch", Self.setKillSQL,
            [.text(kill.scope.rawValue), .text(kill.name), .text(kill.reason), .text(kill.actor), .int(kill.createdAt.millis)]
                + Self.auditCells(audit))
        guard let row = rows.first else { return nil }
        let (reason, actor, at) = try row.decode((String, String, Int64).self)
        return KillSwitch(scope: kill.scope, name: kill.name, reason: reason, actor: actor, createdAt: Date(millis: at))
    }

    static let removeKillSQL = """
        WITH d AS (
            DELETE FROM kill_switches WHERE scope = $1 AND name = $2 RETURNING reason, actor, created_at_ms
        ), a AS (
            INSERT INTO audit_log (audit_id, at_ms, actor, action, target, reason, old_value, new_value)
            SELECT $3, $4, $5, $6, $7, $8, $9, $10 FROM d RETURNING 1
        )
        SELECT reason, actor, created_at_ms FROM d
        """

    public func removeKill(scope: KillSwitch.Scope, name: String, audit: AuditEntry) async throws -> KillSwitch? {
        let rows = try await rows(
            "remove kill switch", Self.removeKillSQL, [.text(scope.rawValue), .text(name)] + Self.auditCells(audit))
        guard let row = rows.first else { return nil }
        let (reason, actor, at) = try row.decode((String, String, Int64).self)
        return KillSwitch(scope: scope, name: name, reason: reason, actor: actor, createdAt: Date(millis: at))
    }

    public func kills() async throws -> [KillSwitch] {
        try await rows(
            "read kill switches", "SELECT scope, name, reason, actor, created_at_ms FROM kill_switches ORDER BY scope, name"
        ).compactMap { row in
            let (scope, name, reason, actor, at) = try row.decode((String, String, String, String, Int64).self)
            return KillSwitch.Scope(rawValue: scope).map {
                KillSwitch(scope: $0, name: name, reason: reason, actor: actor, createdAt: Date(millis: at))
            }
        }
    }

    public func appendAudit(_ entry: AuditEntry) async throws {
        _ = try await rows(
            "append audit",
            """
            INSERT INTO audit_log (audit_id, at_ms, actor, action, target, reason, old_value, new_value)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            """, Self.auditCells(entry))
    }

    public func audit(limit: Int, before: String?) async throws -> [AuditEntry] {
        try await rows(
            "read audit",
            """
            SELECT audit_id, at_ms, actor, action, target, reason, old_value, new_value FROM audit_log
            WHERE ($1::TEXT IS NULL OR audit_id < $1) ORDER BY audit_id DESC LIMIT $2
            """, [before.map(Cell.text) ?? .null, .int(Int64(max(0, limit)))]
        ).map { row in
            let (id, at, actor, action, target, reason, old, new) = try row.decode(
                (String, Int64, String, String, String, String?, String?, String?).self)
            return AuditEntry(
                id: id, at: Date(millis: at), actor: actor, action: action, target: target, reason: reason, oldValue: old,
                newValue: new)
        }
    }

    static func auditCells(_ e: AuditEntry) -> [Cell] {
        [
            .text(e.id), .int(e.at.millis), .text(e.actor), .text(e.action), .text(e.target),
            e.reason.map(Cell.text) ?? .null, e.oldValue.map(Cell.text) ?? .null, e.newValue.map(Cell.text) ?? .null,
        ]
    }
}
