import Foundation
import SluiceCore

/// Renders each dashboard page from the JSON that `GET /admin/dashboard/{page}` returns.
enum DashboardPages {
    static func overview(_ j: JSON) -> String {
        let days = HTML.labels(j["days"])
        let t = j["totals_30d"]
        var body = "<div class=\"stats\">"
        body += HTML.stat("Spend today", HTML.num("spend_today_usd", t?["spend_today_usd"], HTML.usd(t?["spend_today_usd"])))
        body += HTML.stat("Spend, 30 days", HTML.num("spend_30d_usd", t?["spend_usd"], HTML.usd(t?["spend_usd"])))
        body += HTML.stat("Calls, 30 days", HTML.num("calls_30d", t?["calls"], t?["calls"]?.intValue.map(String.init)))
        body += HTML.stat("Error rate, 30 days", HTML.num("error_rate_30d", t?["error_rate"], HTML.pct(t?["error_rate"])))
        body += HTML.stat("Refusal rate, 30 days", HTML.num("refusal_rate_30d", t?["refusal_rate"], HTML.pct(t?["refusal_rate"])))
        body += "</div><h2>Today by purpose</h2>"
        let rows = (j["purposes"]?.arrayValue ?? []).map { p -> [String] in
            let name = p["purpose"]?.stringValue ?? ""
            let used = p["budget_used_pct"]?.doubleValue
            let bar = used.map { "<span class=\"bar\"><i\($0 >= 100 ? " class=\"over\"" : "") style=\"width:\(min(100, Int($0)))%\"></i></span> " } ?? ""
            return [
                "<a href=\"/calls?purpose=\(HTML.query(name))\">\(HTML.esc(name))</a>",
                HTML.num("spend_today_usd", p["spend_today_usd"], HTML.usd(p["spend_today_usd"]), purpose: name),
                p["daily_budget_usd"]?.isNull == false
                    ? HTML.num("daily_budget_usd", p["daily_budget_usd"], HTML.usd(p["daily_budget_usd"]), purpose: name) : "no cap",
                bar + HTML.num("budget_used_pct", p["budget_used_pct"], used.map { String(format: "%.1f%%", $0) }, purpose: name),
                p["breaker"]?.stringValue == "tripped" ? "<span class=\"bad\">tripped</span>" : "closed",
                HTML.num("calls_today", p["calls_today"], p["calls_today"]?.intValue.map(String.init), purpose: name),
                HTML.num("error_rate_today", p["error_rate_today"], HTML.pct(p["error_rate_today"]), purpose: name),
                HTML.num("refusal_rate_today", p["refusal_rate_today"], HTML.pct(p["refusal_rate_today"]), purpose: name),
            ]
        }
        body += HTML.table(
            id: "purposes-today", headers: ["Purpose", "Spend today", "Daily cap", "Cap used", "Budget breaker", "Calls", "Errors", "Refusals"],
            rows: rows)
        body += SVGChart.bars(id: "spend-by-day", title: "Spend per day (USD)", labels: days, series: HTML.series(j["spend_by_day"]), unit: .usd)
        body += SVGChart.bars(id: "calls-by-day", title: "Calls per day", labels: days, series: HTML.series(j["calls_by_day"]), unit: .count)
        body += SVGChart.lines(
            id: "error-rate-by-day", title: "Error rate per day", labels: days, series: HTML.series(j["error_rate_by_day"]), unit: .rate)
        return HTML.page(title: "Overview", active: "overview", asOf: j["as_of"]?.stringValue, body: body)
    }

    static func latency(_ j: JSON) -> String {
        let purposes = j["purposes"]?.arrayValue ?? []
        let rows = purposes.map { p -> [String] in
            let name = p["purpose"]?.stringValue ?? ""
            return [HTML.esc(name), HTML.num("calls_24h", p["calls_24h"], p["calls_24h"]?.intValue.map(String.init), purpose: name)]
                + ["p50", "p95", "p99"].map { q in HTML.num("\(q)_24h_ms", p["\(q)_24h_ms"], HTML.ms(p["\(q)_24h_ms"]), purpose: name) }
        }
        var body = "<h2>Last 24 hours</h2>"
        body += HTML.table(id: "latency-24h", headers: ["Purpose", "Calls", "p50", "p95", "p99"], rows: rows)
        body += "<p class=\"muted\">Percentiles are estimated from latency histograms (buckets 20% wide).</p>"
        for p in purposes {
            let name = p["purpose"]?.stringValue ?? ""
            body += "<h2>\(HTML.esc(name))</h2>"
            let hourly = ["p50", "p95", "p99"].map { ChartSeries(name: $0, values: HTML.values(p["hourly_\($0)_ms"])) }
            let daily = ["p50", "p95", "p99"].map { ChartSeries(name: $0, values: HTML.values(p["daily_\($0)_ms"])) }
            body += SVGChart.lines(id: "latency-hourly-\(name)", title: "\(name): latency per hour, 48 h", labels: HTML.labels(j["hours"]), series: hourly, unit: .ms)
            body += SVGChart.lines(id: "latency-daily-\(name)", title: "\(name): latency per day, 30 days", labels: HTML.labels(j["days"]), series: daily, unit: .ms)
        }
        return HTML.page(title: "Latency", active: "latency", asOf: j["as_of"]?.stringValue, body: body)
    }

    static func cache(_ j: JSON) -> String {
        let days = HTML.labels(j["days"])
        let t = j["totals_30d"]
        var body = "<div class=\"stats\">"
        body += HTML.stat("Hit rate, 30 days", HTML.num("hit_rate_30d", t?["hit_rate"], HTML.pct(t?["hit_rate"])))
        body += HTML.stat("Hits, 30 days", HTML.num("hits_30d", t?["hits"], t?["hits"]?.intValue.map(String.init)))
        body += HTML.stat("Saved, 30 days", HTML.num("saved_30d_usd", t?["saved_usd"], HTML.usd(t?["saved_usd"])))
        body += "</div>"
        let rows = (j["purposes"]?.arrayValue ?? []).map { p -> [String] in
            let name = p["purpose"]?.stringValue ?? ""
            return [
                HTML.esc(name), HTML.num("calls_30d", p["calls_30d"], p["calls_30d"]?.intValue.map(String.init), purpose: name),
                HTML.num("hits_30d", p["hits_30d"], p["hits_30d"]?.intValue.map(String.init), purpose: name),
                HTML.num("hit_rate_30d", p["hit_rate_30d"], HTML.pct(p["hit_rate_30d"]), purpose: name),
                HTML.num("saved_30d_usd", p["saved_30d_usd"], HTML.usd(p["saved_30d_usd"]), purpose: name),
            ]
        }
        body += HTML.table(id: "cache-purposes", headers: ["Purpose", "Calls", "Hits", "Hit rate", "Saved"], rows: rows)
        body += SVGChart.lines(id: "hit-rate-by-day", title: "Cache hit rate per day", labels: days, series: HTML.series(j["hit_rate_by_day"]), unit: .rate, maxY: 1)
        body += SVGChart.bars(id: "saved-by-day", title: "Saved by the cache per day (USD)", labels: days, series: HTML.series(j["saved_by_day"]), unit: .usd)
        return HTML.page(title: "Cache", active: "cache", asOf: j["as_of"]?.stringValue, body: body)
    }
}
