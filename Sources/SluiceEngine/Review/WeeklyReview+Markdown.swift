import Foundation
import SluiceCore

extension WeeklyReview {
    /// The review as markdown: headings, tables, and each figure's source as a link.
    public var markdown: String {
        let j = json
        let m = ReviewText.md
        var s = "# Sluice weekly review\n\n"
        s += "Period \(j["window"]?["from"]?.stringValue ?? "") → \(j["window"]?["to"]?.stringValue ?? "") "
            + "against \(j["previous_window"]?["from"]?.stringValue ?? "") → \(j["previous_window"]?["to"]?.stringValue ?? "") "
            + "and the 30-day average. Source: [\(j["links"]?["self"]?.stringValue ?? "/admin/review")](\(j["links"]?["self"]?.stringValue ?? "/admin/review")).\n\n"
        let t = j["totals"]
        s += "**Spend** \(ReviewText.usd(t?["current"]?["cost_usd"]?.doubleValue)) (previous \(ReviewText.usd(t?["previous"]?["cost_usd"]?.doubleValue)), "
            + "30-day average \(ReviewText.usd(t?["avg_30d"]?["cost_usd"]?.doubleValue))) · **calls** \(ReviewText.int(t?["current"]?["calls"]?.doubleValue.map { Int($0) })) · "
            + "**error rate** \(ReviewText.pct(t?["current"]?["error_rate"]?.doubleValue)) — [cost summary](/admin/cost-summary)\n\n"

        s += "## Biggest movers\n\n"
        let movers = j["biggest_movers"]?.arrayValue ?? []
        if movers.isEmpty { s += "No purpose's spend moved.\n\n" } else {
            s += "| purpose | this period | previous | change | ratio | 30-day avg | source |\n|---|---:|---:|---:|---:|---:|---|\n"
            for r in movers {
                s += "| \(m(r["purpose"]?.stringValue ?? "")) | \(ReviewText.usd(r["current_usd"]?.doubleValue)) | \(ReviewText.usd(r["previous_usd"]?.doubleValue)) | "
                    + "\(ReviewText.usd(r["change_usd"]?.doubleValue)) | \(ReviewText.ratio(r["ratio"]?.doubleValue)) | \(ReviewText.usd(r["avg_30d_usd"]?.doubleValue)) | [cost summary](/admin/cost-summary) |\n"
            }
            s += "\n"
        }

        s += "## Purposes\n\n| purpose | spend (prev · 30d avg) | tokens (prev) | calls | error rate (prev) | p50 / p95 / p99 | drift | eval |\n|---|---|---|---:|---|---|---|---|\n"
        for p in j["purposes"]?.arrayValue ?? [] {
            let name = p["purpose"]?.stringValue ?? ""
            let c = p["current"], pr = p["previous"], a = p["avg_30d"]
            let flags = (p["quality"]?["drift_flags"]?.arrayValue ?? []).compactMap(\.stringValue)
            let drift = p["quality"]?["links"]?["drift"]?.stringValue
            let eval = p["quality"]?["eval"]
            s += "| [\(m(name))](\(p["links"]?["calls"]?.stringValue ?? "/calls")) "
                + "| \(ReviewText.usd(c?["cost_usd"]?.doubleValue)) (\(ReviewText.usd(pr?["cost_usd"]?.doubleValue)) · \(ReviewText.usd(a?["cost_usd"]?.doubleValue))) "
                + "| \(ReviewText.int(c?["tokens"]?.doubleValue.map { Int($0) })) (\(ReviewText.int(pr?["tokens"]?.doubleValue.map { Int($0) }))) "
                + "| \(ReviewText.int(c?["calls"]?.doubleValue.map { Int($0) })) "
                + "| [\(ReviewText.pct(c?["error_rate"]?.doubleValue))](\(p["links"]?["errors"]?.stringValue ?? "/calls")) (\(ReviewText.pct(pr?["error_rate"]?.doubleValue))) "
                + "| [\(ReviewText.ms(c?["p50_ms"]?.doubleValue)) / \(ReviewText.ms(c?["p95_ms"]?.doubleValue)) / \(ReviewText.ms(c?["p99_ms"]?.doubleValue))](/latency) "
                + "| \(drift.map { "[\(flags.isEmpty ? "none" : m(flags.joined(separator: "; ")))](\($0))" } ?? "–") "
                + "| \(eval.flatMap { $0.isNull ? nil : $0 }.map { "[\(ReviewText.pct($0["pass_rate"]?.doubleValue)) \(m($0["suite"]?.stringValue ?? ""))](/quality)" } ?? "–") |\n"
        }
        s += "\n## Top error patterns\n\n"
        let patterns = j["error_patterns"]?.arrayValue ?? []
        if patterns.isEmpty { s += "No failed calls.\n\n" } else {
            s += "| code | provider | pattern | count | first seen | last seen | example | new |\n|---|---|---|---:|---|---|---|---|\n"
            for e in patterns {
                let id = e["example_call_id"]?.stringValue ?? ""
                s += "| \(m(e["code"]?.stringValue ?? "")) | \(m(e["provider"]?.stringValue ?? "–")) | \(m(e["pattern"]?.stringValue ?? "")) | \(e["count"]?.intValue ?? 0) "
                    + "| \(e["first_seen"]?.stringValue ?? "") | \(e["last_seen"]?.stringValue ?? "") | [\(m(id))](/calls/\(ReviewText.q(id))) | \(e["new"]?.boolValue == true ? "**new**" : "") |\n"
            }
            s += "\n"
        }
        s += "## Outputs users flagged\n\n"
        let flagged = j["flagged_outputs"]?.arrayValue ?? []
        if flagged.isEmpty { s += "No negative feedback.\n\n" } else {
            s += "| call | purpose | score | label | comment | at |\n|---|---|---:|---|---|---|\n"
            for f in flagged {
                let id = f["call_id"]?.stringValue
                s += "| \(id.map { "[\(m($0))](/calls/\(ReviewText.q($0)))" } ?? m(f["task_id"]?.stringValue ?? "–")) | \(m(f["purpose"]?.stringValue ?? "–")) "
                    + "| \(Decimals.format(f["score"]?.doubleValue ?? 0, places: 2, trim: true)) | \(m(f["label"]?.stringValue ?? "")) | \(m(f["comment"]?.stringValue ?? "")) | \(f["at"]?.stringValue ?? "") |\n"
            }
            s += "\n"
        }
        s += "## Shadows\n\n"
        let shadows = j["shadows"]?.arrayValue ?? []
        if shadows.isEmpty { s += "No shadow is running.\n\n" } else {
            s += "| purpose | pairs | agreement | source |\n|---|---:|---:|---|\n"
            for r in shadows {
                let link = r["links"]?["report"]?.stringValue ?? "/shadows"
                s += "| \(m(r["purpose"]?.stringValue ?? "")) | \(r["pairs"]?.intValue ?? 0) | \(ReviewText.pct(r["agreement_rate"]?.doubleValue)) | [report](\(link)) |\n"
            }
            s += "\n"
        }
        s += "## Events\n\n"
        for b in j["budget_trips"]?.arrayValue ?? [] {
            s += "- Budget trip: **\(m(b["purpose"]?.stringValue ?? ""))** refused \(ReviewText.count(b["refused_calls"]?.intValue ?? 0, "call")) (\(b["first"]?.stringValue ?? "") → \(b["last"]?.stringValue ?? "")) — [calls](\(b["links"]?["calls"]?.stringValue ?? "/calls"))\n"
        }
        if (j["budget_trips"]?.arrayValue ?? []).isEmpty { s += "- Budget trips: none\n" }
        let ev = j["events"]
        s += "- Breaker openings: \(m(ev?["breaker_openings"]?["note"]?.stringValue ?? "not recorded")) — [breakers](/admin/breakers)\n"
        for (key, label) in [("kill_switches", "Kill switches"), ("flag_changes", "Flag changes"), ("key_changes", "Key changes"), ("end_user_changes", "End-user changes"), ("alerts", "Alerts")] {
            let entries = ev?[key]?["entries"]?.arrayValue ?? []
            s += "- \(label): \(ev?[key]?["count"]?.intValue ?? 0) — [audit log](/admin/audit)\n"
            for e in entries {
                s += "  - \(e["at"]?.stringValue ?? "") \(m(e["actor"]?.stringValue ?? "")) \(m(e["action"]?.stringValue ?? "")) \(m(e["target"]?.stringValue ?? ""))"
                    + (e["reason"]?.stringValue.map { ": " + m($0) } ?? "") + "\n"
            }
        }
        return s
    }
}
