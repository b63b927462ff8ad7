import Foundation
import SluiceCore

extension DashboardPages {
    /// A number cell for one end user (or key) in one window: `data-metric`, `data-user`, `data-window`, `data-value`.
    static func userNum(_ metric: String, _ value: JSON?, _ text: String?, user: String, window: String) -> String {
        let raw = value?.doubleValue
        let shown = text ?? raw.map { Decimals.format($0, places: 6, trim: true) } ?? "–"
        return "<span class=\"num\" data-metric=\"\(HTML.esc(metric))\" data-user=\"\(HTML.esc(user))\" "
            + "data-window=\"\(HTML.esc(window))\" data-value=\"\(raw.map { String($0) } ?? "")\">\(HTML.esc(shown))</span>"
    }

    /// Milliseconds, with a decimal below 10 ms.
    static func ms(_ v: JSON?) -> String? { v?.doubleValue.map { String(format: $0 < 10 ? "%.1f ms" : "%.0f ms", $0) } }

    /// The users page: per window, the top spenders and the slowest users (p95), tables and charts.
    static func users(_ j: JSON) -> String {
        var body = "<p class=\"muted\">End users are named by the request's <code>user</code> field or the "
            + "<code>X-Sluice-User</code> header. Spend is from the ledger; latency percentiles are exact, over every logged call "
            + "(failed ones included, shadow runs left out). The same numbers: <code>GET /admin/cost-summary?by=user&amp;sort=cost|p95</code>.</p>"
        for w in j["windows"]?.arrayValue ?? [] {
            let window = w["window"]?.stringValue ?? ""
            body += "<h2>Last \(HTML.esc(window)) <span class=\"muted\">(\(w["users"]?.intValue ?? 0) users)</span></h2>"
            let headers = ["User", "Spend", "Calls", "Logged calls", "p50", "p95", "p99", "Tokens in/out"]
            func rows(_ list: [JSON]) -> [[String]] {
                list.map { u in
                    let name = u["user"]?.stringValue ?? ""
                    return [
                        "<span class=\"user\">\(HTML.esc(name))</span>",
                        userNum("cost_usd", u["cost_usd"], HTML.usd(u["cost_usd"]), user: name, window: window),
                        userNum("calls", u["calls"], u["calls"]?.intValue.map(String.init), user: name, window: window),
                        userNum("logged_calls", u["logged_calls"], u["logged_calls"]?.intValue.map(String.init), user: name, window: window),
                    ] + ["p50_ms", "p95_ms", "p99_ms"].map { m in userNum(m, u[m], ms(u[m]), user: name, window: window) }
                        + ["\(u["input_tokens"]?.intValue ?? 0)/\(u["output_tokens"]?.intValue ?? 0)"]
                }
            }
            let spenders = w["top_spenders"]?.arrayValue ?? []
            let slowest = w["slowest"]?.arrayValue ?? []
            let none = "No calls with an end user in this window."
            body += "<h2>Top spenders</h2>" + HTML.table(id: "top-spenders-\(window)", headers: headers, rows: rows(spenders), empty: none)
            if !spenders.isEmpty {
                body += SVGChart.bars(
                    id: "spend-by-user-\(window)", title: "Spend per user, last \(window) (USD)",
                    labels: spenders.map { $0["user"]?.stringValue ?? "" },
                    series: [ChartSeries(name: "spend", values: spenders.map { $0["cost_usd"]?.doubleValue })], unit: .usd)
            }
            body += "<h2>Slowest users (p95)</h2>" + HTML.table(id: "slowest-\(window)", headers: headers, rows: rows(slowest), empty: none)
            if !slowest.isEmpty {
                body += SVGChart.bars(
                    id: "latency-by-user-\(window)", title: "p95 latency per user, last \(window) (ms)",
                    labels: slowest.map { $0["user"]?.stringValue ?? "" },
                    series: [ChartSeries(name: "p95", values: slowest.map { $0["p95_ms"]?.doubleValue })], unit: .ms)
            }
        }
        return HTML.page(title: "Users", active: "users", asOf: j["as_of"]?.stringValue, body: body)
    }
}
