import Foundation
import SluiceCore

extension DashboardPages {
    /// The keys page's JSON: every key as `GET /admin/keys` lists it (never a secret or hash), and counts per status.
    static func keysData(_ keys: [JSON], now: Date) -> JSON {
        var counts: JSONObject = ["active": 0, "revoked": 0, "expired": 0]
        for k in keys {
            let s = k["status"]?.stringValue ?? "active"
            counts[s] = .int((counts[s]?.intValue ?? 0) + 1)
        }
        return [
            "page": "keys", "as_of": .string(Timestamp.iso8601(now)), "counts": .object(counts),
            "config_keys": .int(keys.filter { $0["source"] == "config" }.count), "keys": .array(keys),
        ]
    }

    /// The keys page: config and runtime keys with their status, expiry, scopes and limits.
    static func keys(_ j: JSON) -> String {
        let counts = j["counts"]?.objectValue ?? JSONObject()
        var body = "<div class=\"stats\">"
        for (status, n) in counts { body += HTML.stat(status.capitalized, HTML.num("keys_\(status)", n, n.intValue.map(String.init))) }
        body += "</div>"
        func text(_ v: JSON?) -> String { v?.stringValue.map(HTML.esc) ?? "–" }
        func list(_ v: JSON?) -> String {
            let items = (v?.arrayValue ?? []).compactMap(\.stringValue)
            return items.isEmpty ? "all" : HTML.esc(items.joined(separator: ", "))
        }
        func cell(_ metric: String, _ k: JSON, _ id: String, _ shown: String?) -> String {
            guard let v = k[metric], !v.isNull else { return "–" }
            return "<span class=\"num\" data-metric=\"\(metric)\" data-key=\"\(HTML.esc(id))\" data-value=\"\(v.doubleValue.map { String($0) } ?? "")\">"
                + "\(HTML.esc(shown ?? ""))</span>"
        }
        let rows = (j["keys"]?.arrayValue ?? []).map { k -> [String] in
            let id = k["id"]?.stringValue ?? k["name"]?.stringValue ?? ""
            let status = k["status"]?.stringValue ?? ""
            return [
                "<span class=\"key\" data-key=\"\(HTML.esc(id))\">\(text(k["name"]))</span>", text(k["id"]),
                k["prefix"]?.stringValue.map { "<code>\(HTML.esc($0))</code>" } ?? "–", text(k["team"]), text(k["source"]),
                "<span class=\"status \(status == "active" ? "ok" : "bad")\" data-key=\"\(HTML.esc(id))\">\(HTML.esc(status))</span>",
                text(k["expires_at"]), list(k["purposes"]), list(k["models"]),
                cell("daily_budget_usd", k, id, HTML.usd(k["daily_budget_usd"])),
                cell("monthly_budget_usd", k, id, HTML.usd(k["monthly_budget_usd"])),
                cell("rpm", k, id, k["rpm"]?.intValue.map(String.init)), cell("tpm", k, id, k["tpm"]?.intValue.map(String.init)),
            ]
        }
        body += HTML.table(
            id: "keys",
            headers: [
                "Name", "ID", "Prefix", "Team", "Source", "Status", "Expires", "Purposes", "Models", "Daily budget", "Monthly budget",
                "RPM", "TPM",
            ],
            rows: rows,
            empty: "No keys: the gateway accepts unauthenticated calls from loopback only. "
                + "Create one with POST /admin/keys or sluice keys create.")
        body += "<p class=\"muted\">Config keys (auth.keys) are read-only here; runtime keys are managed with "
            + "<code>/admin/keys</code> and <code>sluice keys</code>. Secrets are never shown.</p>"
        return HTML.page(title: "Keys", active: "keys", asOf: j["as_of"]?.stringValue, body: body)
    }
}
