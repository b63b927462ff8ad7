import Foundation
import SluiceCore
import SluiceStore

/// The operator events of a review period, from the audit log (`/admin/audit`): kill switches,
/// flag changes, key changes, end-user overrides and alerts. Breaker openings are kept only in
/// each node's memory and metrics, never stored, so the review says they are not recorded.
enum Events {
    /// The audit entries in `[from, to)`, newest first, paging back through the log.
    static func audit(store: any SluiceStore, from: Date, to: Date) async throws -> [AuditEntry] {
        var out: [AuditEntry] = []
        var before: String?
        while out.count < 5_000 {
            let page = try await store.audit(limit: 500, before: before)
            out += page.filter { $0.at >= from && $0.at < to }
            guard let last = page.last, last.at >= from, page.count == 500 else { break }
            before = last.id
        }
        return out
    }

    static func entry(_ e: AuditEntry) -> JSON {
        [
            "id": .string(e.id), "at": .string(Timestamp.iso8601(e.at)), "actor": .string(e.actor), "action": .string(e.action),
            "target": .string(e.target), "reason": e.reason.map(JSON.string) ?? .null,
            "old_value": e.oldValue.map(JSON.string) ?? .null, "new_value": e.newValue.map(JSON.string) ?? .null,
        ]
    }

    static func json(store: any SluiceStore, from: Date, to: Date, limit: Int) async throws -> JSON {
        let entries = try await audit(store: store, from: from, to: to)
        func kind(_ name: String, _ match: (AuditEntry) -> Bool) -> (String, JSON) {
            let hits = entries.filter(match)
            return (name, [
                "count": .int(hits.count), "entries": .array(hits.prefix(limit).map(entry)),
                "links": ["audit": "/admin/audit"],
            ])
        }
        var out = JSONObject()
        for (k, v) in [
            kind("kill_switches") { $0.action == "kill" || $0.action == "unkill" },
            kind("flag_changes") { $0.target.hasPrefix("flag:") },
            kind("key_changes") { $0.action.hasPrefix("keys.") },
            kind("end_user_changes") { $0.action.hasPrefix("end_users.") },
            kind("alerts") { $0.action == "alert" },
        ] { out[k] = v }
        out["breaker_openings"] = [
            "recorded": false,
            "note": "not recorded: breaker openings live in each node's memory and in /metrics (sluice_breaker_state, sluice_breaker_opened), not in the store",
            "links": ["breakers": "/admin/breakers", "metrics": "/metrics"],
        ]
        return .object(out)
    }
}
