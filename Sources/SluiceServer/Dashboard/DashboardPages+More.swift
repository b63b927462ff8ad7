import Foundation
import SluiceCore

extension DashboardPages {
    static func quality(_ j: JSON) -> String {
        let days = HTML.labels(j["days"])
        let purposes = j["purposes"]?.arrayValue ?? []
        let window = (j["drift_window_s"]?.intValue ?? 86_400) / 86_400
        let baseline = (j["drift_baseline_s"]?.intValue ?? 7 * 86_400) / 86_400
        let rows = purposes.map { p -> [String] in
            let name = p["purpose"]?.stringValue ?? ""
            let flags = (p["drift_flags"]?.arrayValue ?? []).compactMap(\.stringValue)
            let eval = p["evals"]?.arrayValue?.first
            return [
                HTML.esc(name),
                HTML.num("schema_valid_rate_30d", p["schema_valid_rate_30d"], HTML.pct(p["schema_valid_rate_30d"]), purpose: name),
                HTML.num("refusal_rate_30d", p["refusal_rate_30d"], HTML.pct(p["refusal_rate_30d"]), purpose: name),
                eval.map { e in HTML.num("eval_pass_rate", e["pass_rate"], HTML.pct(e["pass_rate"]), purpose: name) + " <span class=\"muted\">\(HTML.esc(e["suite"]?.stringValue ?? ""))</span>" } ?? "–",
                flags.isEmpty ? "<span class=\"ok drift\" data-purpose=\"\(HTML.esc(name))\">none</span>"
                    : "<ul class=\"bad drift\" data-purpose=\"\(HTML.esc(name))\">" + flags.map { "<li>\(HTML.esc($0))</li>" }.joined() + "</ul>",
            ]
        }
        var body = HTML.table(
            id: "quality-purposes", headers: ["Purpose", "Schema-valid, 30 d", "Refusals, 30 d", "Latest eval", "Drift (\(window) d vs \(baseline) d)"],
            rows: rows)
        body += SVGChart.lines(
            id: "schema-valid-by-day", title: "Schema-valid rate per day", labels: days,
            series: purposes.map { ChartSeries(name: $0["purpose"]?.stringValue ?? "", values: HTML.values($0["schema_valid_rate_by_day"])) },
            unit: .rate, maxY: 1)
        body += SVGChart.lines(
            id: "feedback-by-day", title: "Mean feedback score per day", labels: days,
            series: purposes.map { ChartSeries(name: $0["purpose"]?.stringValue ?? "", values: HTML.values($0["feedback_by_day"])) }, unit: .score)
        body += "<h2>Eval scores</h2>"
        var evalRows: [[String]] = []
        for p in purposes {
            let name = p["purpose"]?.stringValue ?? ""
            for e in p["evals"]?.arrayValue ?? [] {
                evalRows.append([
                    HTML.esc(name), HTML.esc(e["suite"]?.stringValue ?? ""), HTML.esc(e["at"]?.stringValue ?? ""),
                    HTML.esc(e["model"]?.stringValue ?? ""), HTML.esc(e["prompt_version"]?.stringValue ?? "–"),
                    HTML.num("pass_rate", e["pass_rate"], HTML.pct(e["pass_rate"]), purpose: name),
                    HTML.num("judge_mean", e["judge_mean"], nil, purpose: name),
                ])
            }
        }
        body += HTML.table(id: "eval-scores", headers: ["Purpose", "Suite", "At", "Model", "Prompt", "Pass rate", "Judge mean"], rows: evalRows,
                           empty: "No scheduled eval scores yet (config `evals:`).")
        return HTML.page(title: "Quality", active: "quality", asOf: j["as_of"]?.stringValue, body: body)
    }

    static func shadows(_ j: JSON) -> String {
        let reports = j["reports"]?.arrayValue ?? []
        var body = reports.isEmpty ? "<p class=\"muted\" id=\"no-shadows\">No purpose has a shadow configured, and no shadow calls were found.</p>" : ""
        for r in reports {
            let name = r["purpose"]?.stringValue ?? ""
            let a = r["agreement"]
            body += "<h2>\(HTML.esc(name)) <span class=\"muted\">vs \(HTML.esc(r["shadow_purpose"]?.stringValue ?? ""))</span></h2>"
            body += "<div class=\"stats\">"
            body += HTML.stat("Pairs", HTML.num("pairs", r["pairs"], r["pairs"]?.intValue.map(String.init), purpose: name))
            body += HTML.stat("Agreement", HTML.num("agreement_rate", a?["rate"], HTML.pct(a?["rate"]), purpose: name))
            body += HTML.stat("Compared", HTML.num("compared", a?["compared"], a?["compared"]?.intValue.map(String.init), purpose: name))
            body += "</div>"
            if let note = a?["note"]?.stringValue { body += "<p class=\"muted\">\(HTML.esc(note))</p>" }
            let sides = [("primary", r["primary"]), ("shadow", r["shadow"])]
            body += HTML.table(
                id: "shadow-sides-\(name)", headers: ["Side", "Calls", "Errors", "Schema-valid", "p50", "p95", "Cost per call", "Models"],
                rows: sides.map { side, s in
                    [
                        side, HTML.num("\(side)_calls", s?["calls"], s?["calls"]?.intValue.map(String.init), purpose: name),
                        HTML.num("\(side)_errors", s?["errors"], s?["errors"]?.intValue.map(String.init), purpose: name),
                        HTML.num("\(side)_schema_valid_rate", s?["schema_valid_rate"], HTML.pct(s?["schema_valid_rate"]), purpose: name),
                        HTML.num("\(side)_p50_ms", s?["latency_ms"]?["p50"], HTML.ms(s?["latency_ms"]?["p50"]), purpose: name),
                        HTML.num("\(side)_p95_ms", s?["latency_ms"]?["p95"], HTML.ms(s?["latency_ms"]?["p95"]), purpose: name),
                        HTML.num("\(side)_cost_per_call_usd", s?["cost_per_call_usd"], HTML.usd(s?["cost_per_call_usd"]), purpose: name),
                        HTML.esc((s?["models"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ", ")),
                    ]
                })
            let metric: [(String, (JSON?) -> JSON?)] = [("p50 ms", { $0?["latency_ms"]?["p50"] }), ("p95 ms", { $0?["latency_ms"]?["p95"] })]
            body += SVGChart.bars(
                id: "shadow-latency-\(name)", title: "\(name): latency, live vs shadow (ms)", labels: metric.map(\.0),
                series: sides.map { side, s in ChartSeries(name: side, values: metric.map { $0.1(s)?.doubleValue }) }, unit: .ms)
            let dis = (r["disagreements"]?.arrayValue ?? []).map { d -> [String] in
                let id = d["primary_call_id"]?.stringValue ?? ""
                return [
                    "<a href=\"/calls/\(HTML.query(id))\">\(HTML.esc(id))</a>", HTML.esc(d["created_at"]?.stringValue ?? ""),
                    HTML.esc((d["differing_fields"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ", ")),
                ]
            }
            body += HTML.table(id: "shadow-disagreements-\(name)", headers: ["Live call", "At", "Differing fields"], rows: dis, empty: "No disagreements.")
        }
        return HTML.page(title: "Shadows", active: "shadows", asOf: j["as_of"]?.stringValue, body: body)
    }

    static func tasks(_ j: JSON) -> String {
        let counts = j["counts"]?.objectValue ?? JSONObject()
        var body = "<div class=\"stats\">"
        for (status, n) in counts { body += HTML.stat(status, HTML.num("tasks_\(status)", n, n.intValue.map(String.init))) }
        body += "</div>"
        body += SVGChart.bars(
            id: "tasks-by-status", title: "Tasks by status", labels: counts.keys,
            series: [ChartSeries(name: "tasks", values: counts.map { $0.value.doubleValue })], unit: .count)
        func rows(_ list: JSON?) -> [[String]] {
            (list?.arrayValue ?? []).map { t in
                [
                    HTML.esc(t["id"]?.stringValue ?? ""), HTML.esc(t["purpose"]?.stringValue ?? ""), HTML.esc(t["status"]?.stringValue ?? ""),
                    "\(t["attempt_count"]?.intValue ?? 0)/\(t["max_attempts"]?.intValue ?? 0)", HTML.esc(t["created_at"]?.stringValue ?? ""),
                    HTML.esc(t["error_message"]?.stringValue ?? ""),
                    (t["call_ids"]?.arrayValue ?? []).compactMap(\.stringValue).map { "<a href=\"/calls/\(HTML.query($0))\">\(HTML.esc($0))</a>" }.joined(separator: " "),
                ]
            }
        }
        let headers = ["Task", "Purpose", "Status", "Attempts", "Created", "Error", "Calls"]
        body += "<h2>Queue</h2>" + HTML.table(id: "tasks-active", headers: headers, rows: rows(j["active"]), empty: "The queue is empty.")
        body += "<h2>Recent failures</h2>" + HTML.table(id: "tasks-failed", headers: headers, rows: rows(j["failures"]), empty: "No failed tasks.")
        return HTML.page(title: "Tasks", active: "tasks", asOf: j["as_of"]?.stringValue, body: body)
    }
}
