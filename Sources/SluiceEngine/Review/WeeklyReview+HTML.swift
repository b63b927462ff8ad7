import Foundation
import SluiceCore

extension WeeklyReview {
    /// The review as one self-contained HTML page (inline CSS, no scripts), every value escaped.
    public var html: String {
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sluice weekly review</title><style>\(Self.css)</style></head>"
            + "<body><main><h1>Sluice weekly review</h1>\(htmlBody)</main></body></html>"
    }

    static let css = """
        body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2433;background:#f6f7f9}main{padding:12px 20px 40px;max-width:1200px}\
        table{border-collapse:collapse;background:#fff;margin:6px 0 14px}th,td{padding:5px 10px;border-bottom:1px solid #e3e6ec;text-align:left;vertical-align:top}\
        th{font-size:12px;color:#5b6578}.new{color:#b3261e;font-weight:600}.muted{color:#7a8599}a{color:#2a5bd7}
        """

    /// The review's sections as HTML, without the page around them (the dashboard frames them).
    public var htmlBody: String {
        let j = json
        let e = ReviewText.esc
        func a(_ href: String?, _ text: String) -> String { "<a href=\"\(e(href ?? "#"))\">\(e(text))</a>" }
        func table(_ id: String, _ headers: [String], _ rows: [[String]], empty: String) -> String {
            guard !rows.isEmpty else { return "<p class=\"muted\" id=\"\(id)\">\(e(empty))</p>" }
            return "<table id=\"\(id)\"><thead><tr>" + headers.map { "<th>\(e($0))</th>" }.joined() + "</tr></thead><tbody>"
                + rows.map { "<tr>" + $0.map { "<td>\($0)</td>" }.joined() + "</tr>" }.joined() + "</tbody></table>"
        }
        var s = "<p class=\"muted\" id=\"period\">\(e(j["window"]?["from"]?.stringValue ?? "")) → \(e(j["window"]?["to"]?.stringValue ?? "")), "
            + "against the previous period and the 30-day average. Source: \(a(j["links"]?["self"]?.stringValue, j["links"]?["self"]?.stringValue ?? "/admin/review"))</p>"
        let t = j["totals"]
        s += "<p id=\"totals\">Spend \(a("/admin/cost-summary", ReviewText.usd(t?["current"]?["cost_usd"]?.doubleValue))) "
            + "(previous \(e(ReviewText.usd(t?["previous"]?["cost_usd"]?.doubleValue))), 30-day average \(e(ReviewText.usd(t?["avg_30d"]?["cost_usd"]?.doubleValue)))), "
            + "calls \(e(ReviewText.int(t?["current"]?["calls"]?.doubleValue.map { Int($0) }))), error rate \(e(ReviewText.pct(t?["current"]?["error_rate"]?.doubleValue)))</p>"

        s += "<h2>Biggest movers</h2>"
        s += table("movers", ["Purpose", "This period", "Previous", "Change", "Ratio", "30-day avg"], (j["biggest_movers"]?.arrayValue ?? []).map { r in
            [e(r["purpose"]?.stringValue ?? ""), a("/admin/cost-summary", ReviewText.usd(r["current_usd"]?.doubleValue)), e(ReviewText.usd(r["previous_usd"]?.doubleValue)),
             e(ReviewText.usd(r["change_usd"]?.doubleValue)), e(ReviewText.ratio(r["ratio"]?.doubleValue)), e(ReviewText.usd(r["avg_30d_usd"]?.doubleValue))]
        }, empty: "No purpose's spend moved.")

        s += "<h2>Purposes</h2>"
        s += table("purposes", ["Purpose", "Spend (prev · 30d avg)", "Tokens (prev)", "Calls", "Error rate (prev)", "p50 / p95 / p99", "Drift", "Eval"],
                   (j["purposes"]?.arrayValue ?? []).map { p in
            let c = p["current"], pr = p["previous"], avg = p["avg_30d"]
            let flags = (p["quality"]?["drift_flags"]?.arrayValue ?? []).compactMap(\.stringValue)
            let eval = p["quality"]?["eval"].flatMap { $0.isNull ? nil : $0 }
            return [
                a(p["links"]?["calls"]?.stringValue, p["purpose"]?.stringValue ?? ""),
                a("/admin/cost-summary", ReviewText.usd(c?["cost_usd"]?.doubleValue)) + " (\(e(ReviewText.usd(pr?["cost_usd"]?.doubleValue))) · \(e(ReviewText.usd(avg?["cost_usd"]?.doubleValue))))",
                e(ReviewText.int(c?["tokens"]?.doubleValue.map { Int($0) })) + " (\(e(ReviewText.int(pr?["tokens"]?.doubleValue.map { Int($0) }))))",
                e(ReviewText.int(c?["calls"]?.doubleValue.map { Int($0) })),
                a(p["links"]?["errors"]?.stringValue, ReviewText.pct(c?["error_rate"]?.doubleValue)) + " (\(e(ReviewText.pct(pr?["error_rate"]?.doubleValue))))",
                a("/latency", "\(ReviewText.ms(c?["p50_ms"]?.doubleValue)) / \(ReviewText.ms(c?["p95_ms"]?.doubleValue)) / \(ReviewText.ms(c?["p99_ms"]?.doubleValue))"),
                p["quality"] == nil ? "–" : a(p["quality"]?["links"]?["drift"]?.stringValue, flags.isEmpty ? "none" : flags.joined(separator: "; ")),
                eval.map { a("/quality", "\(ReviewText.pct($0["pass_rate"]?.doubleValue)) \($0["suite"]?.stringValue ?? "")") } ?? "–",
            ]
        }, empty: "No calls in the period.")

        s += "<h2>Top error patterns</h2>"
        s += table("error-patterns", ["Code", "Provider", "Pattern", "Count", "First seen", "Last seen", "Example", ""], (j["error_patterns"]?.arrayValue ?? []).map { p in
            let id = p["example_call_id"]?.stringValue ?? ""
            return [e(p["code"]?.stringValue ?? ""), e(p["provider"]?.stringValue ?? "–"), "<code>\(e(p["pattern"]?.stringValue ?? ""))</code>",
                    e(String(p["count"]?.intValue ?? 0)), e(p["first_seen"]?.stringValue ?? ""), e(p["last_seen"]?.stringValue ?? ""),
                    a("/calls/\(ReviewText.q(id))", id), p["new"]?.boolValue == true ? "<span class=\"new bad\">new</span>" : ""]
        }, empty: "No failed calls.")

        s += "<h2>Outputs users flagged</h2>"
        s += table("flagged-outputs", ["Call", "Purpose", "Score", "Label", "Comment", "At"], (j["flagged_outputs"]?.arrayValue ?? []).map { f in
            let id = f["call_id"]?.stringValue
            return [id.map { a("/calls/\(ReviewText.q($0))", $0) } ?? e(f["task_id"]?.stringValue ?? "–"), e(f["purpose"]?.stringValue ?? "–"),
                    e(Decimals.format(f["score"]?.doubleValue ?? 0, places: 2, trim: true)), e(f["label"]?.stringValue ?? ""),
                    e(f["comment"]?.stringValue ?? ""), e(f["at"]?.stringValue ?? "")]
        }, empty: "No negative feedback.")

        s += "<h2>Shadows</h2>"
        s += table("shadows", ["Purpose", "Pairs", "Agreement"], (j["shadows"]?.arrayValue ?? []).map { r in
            [a(r["links"]?["report"]?.stringValue, r["purpose"]?.stringValue ?? ""), e(String(r["pairs"]?.intValue ?? 0)), e(ReviewText.pct(r["agreement_rate"]?.doubleValue))]
        }, empty: "No shadow is running.")

        s += "<h2>Events</h2><ul id=\"events\">"
        let trips = j["budget_trips"]?.arrayValue ?? []
        if trips.isEmpty { s += "<li>Budget trips: none</li>" }
        for b in trips {
            s += "<li>Budget trip: <b>\(e(b["purpose"]?.stringValue ?? ""))</b> refused \(ReviewText.count(b["refused_calls"]?.intValue ?? 0, "call")) — \(a(b["links"]?["calls"]?.stringValue, "calls"))</li>"
        }
        let ev = j["events"]
        s += "<li id=\"breakers\">Breaker openings: \(e(ev?["breaker_openings"]?["note"]?.stringValue ?? "not recorded")) — \(a("/admin/breakers", "breakers"))</li>"
        for (key, label) in [("kill_switches", "Kill switches"), ("flag_changes", "Flag changes"), ("key_changes", "Key changes"), ("end_user_changes", "End-user changes"), ("alerts", "Alerts")] {
            s += "<li>\(e(label)): \(ev?[key]?["count"]?.intValue ?? 0) — \(a("/admin/audit", "audit log"))"
            let entries = ev?[key]?["entries"]?.arrayValue ?? []
            if !entries.isEmpty {
                s += "<ul>" + entries.map { x in
                    "<li>\(e(x["at"]?.stringValue ?? "")) \(e(x["actor"]?.stringValue ?? "")) \(e(x["action"]?.stringValue ?? "")) \(e(x["target"]?.stringValue ?? ""))"
                        + (x["reason"]?.stringValue.map { ": " + e($0) } ?? "") + "</li>"
                }.joined() + "</ul>"
            }
            s += "</li>"
        }
        return s + "</ul>"
    }
}
