import Foundation
import SluiceCore

/// HTML building blocks for the dashboard: escaping, the page frame, tables.
enum HTML {
    /// Escapes text for element content and quoted attributes.
    static func esc(_ s: String) -> String { Escaping.html(s) }

    /// Escapes a query-string component.
    static func query(_ s: String) -> String { Escaping.component(s) }

    /// The navigation entries: page name, path, label.
    static let nav: [(String, String, String)] = [
        ("overview", "/", "Overview"), ("latency", "/latency", "Latency"), ("cache", "/cache", "Cache"),
        ("quality", "/quality", "Quality"), ("shadows", "/shadows", "Shadows"), ("tasks", "/tasks", "Tasks"), ("calls", "/calls", "Calls"),
        ("users", "/users", "Users"), ("keys", "/keys", "Keys"), ("review", "/review", "Review"),
    ]

    /// A whole page: head with inline CSS, the navigation, and `body`.
    static func page(title: String, active: String, asOf: String?, body: String) -> String {
        var links = ""
        for (name, path, label) in nav {
            links += "<a href=\"\(path)\"\(name == active ? " class=\"on\"" : "")>\(label)</a>"
        }
        return """
            <!doctype html><html lang="en"><head><meta charset="utf-8">\
            <meta name="viewport" content="width=device-width, initial-scale=1">\
            <title>\(esc(title)) · Sluice</title><style>\(css)</style></head>\
            <body data-page="\(esc(active))"><header><b>Sluice</b><nav>\(links)</nav>\
            \(asOf.map { "<span class=\"asof\">as of \(esc($0)) UTC</span>" } ?? "")</header>\
            <main><h1>\(esc(title))</h1>\(body)</main></body></html>
            """
    }

    /// A table whose cells are already HTML.
    static func table(id: String, headers: [String], rows: [[String]], empty: String = "Nothing yet.") -> String {
        guard !rows.isEmpty else { return "<p class=\"muted\" id=\"\(esc(id))\">\(esc(empty))</p>" }
        var s = "<table id=\"\(esc(id))\"><thead><tr>"
        for h in headers { s += "<th>\(esc(h))</th>" }
        s += "</tr></thead><tbody>"
        for r in rows { s += "<tr>" + r.map { "<td>\($0)</td>" }.joined() + "</tr>" }
        return s + "</tbody></table>"
    }

    /// A number cell: shows `text`, carries the exact value in `data-value` and its name in `data-metric`.
    static func num(_ metric: String, _ value: JSON?, _ text: String? = nil, purpose: String? = nil) -> String {
        let raw = value.flatMap(\.doubleValue)
        let shown = text ?? raw.map { Decimals.format($0, places: 6, trim: true) } ?? "–"
        let p = purpose.map { " data-purpose=\"\(esc($0))\"" } ?? ""
        return "<span class=\"num\" data-metric=\"\(esc(metric))\"\(p) data-value=\"\(raw.map { String($0) } ?? "")\">\(esc(shown))</span>"
    }

    /// A headline figure: label above a big number.
    static func stat(_ label: String, _ cell: String) -> String {
        "<div class=\"stat\"><div class=\"label\">\(esc(label))</div><div class=\"big\">\(cell)</div></div>"
    }

    static func usd(_ v: JSON?) -> String? { v?.doubleValue.map { String(format: $0 >= 1 ? "$%.2f" : "$%.4f", $0) } }
    static func pct(_ v: JSON?) -> String? { v?.doubleValue.map { String(format: "%.1f%%", $0 * 100) } }
    static func ms(_ v: JSON?) -> String? { v?.doubleValue.map { String(format: "%.0f ms", $0) } }

    /// JSON as text.
    static func jsonText(_ j: JSON) -> String { String(decoding: j.serialized(), as: UTF8.self) }

    /// The numbers of a JSON array, keeping nulls as gaps.
    static func values(_ j: JSON?) -> [Double?] { (j?.arrayValue ?? []).map(\.doubleValue) }

    /// The label strings of a JSON array.
    static func labels(_ j: JSON?) -> [String] { (j?.arrayValue ?? []).compactMap(\.stringValue) }

    /// `[{"purpose": p, "values": [...]}]` as chart series.
    static func series(_ j: JSON?) -> [ChartSeries] {
        (j?.arrayValue ?? []).map { ChartSeries(name: $0["purpose"]?.stringValue ?? "?", values: values($0["values"])) }
    }

    static let css = """
        body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;color:#1d2433;background:#f6f7f9}\
        header{display:flex;gap:18px;align-items:center;padding:10px 20px;background:#1d2433;color:#fff}\
        header nav a{color:#c9d2e3;text-decoration:none;margin-right:12px}header nav a.on{color:#fff;font-weight:600;border-bottom:2px solid #7aa2f7}\
        .asof{margin-left:auto;color:#9aa6bd;font-size:12px}main{padding:12px 20px 40px;max-width:1200px}\
        h1{font-size:20px;margin:8px 0 14px}h2{font-size:16px;margin:22px 0 8px}\
        table{border-collapse:collapse;background:#fff;margin:6px 0 14px;min-width:50%}th,td{padding:5px 10px;border-bottom:1px solid #e3e6ec;text-align:left;vertical-align:top}\
        th{font-size:12px;color:#5b6578;font-weight:600}.num{font-variant-numeric:tabular-nums}\
        .stats{display:flex;gap:14px;flex-wrap:wrap;margin-bottom:8px}.stat{background:#fff;padding:10px 14px;border-radius:6px;min-width:130px}\
        .stat .label{font-size:12px;color:#5b6578}.stat .big{font-size:20px;font-weight:600}\
        .chart-box{background:#fff;border-radius:6px;padding:8px 10px;margin:0 0 14px;display:inline-block}figcaption{font-weight:600;margin-bottom:4px}\
        .grid{stroke:#e3e6ec}.tick{font-size:10px;fill:#5b6578}.empty{fill:#9aa6bd;font-size:13px}\
        .legend span{margin-right:12px;font-size:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}\
        .bad{color:#b3261e;font-weight:600}.ok{color:#1e7b4f}.muted{color:#7a8599}pre{background:#fff;padding:8px;overflow:auto;max-height:320px;white-space:pre-wrap;word-break:break-word}\
        form.filters{display:flex;gap:8px;align-items:end;margin-bottom:10px}form.filters label{font-size:12px;display:flex;flex-direction:column}\
        .bar{height:8px;background:#e3e6ec;border-radius:4px;width:140px;display:inline-block;vertical-align:middle}\
        .bar i{display:block;height:8px;border-radius:4px;background:#3b6fd4}.bar i.over{background:#b3261e}
        """
}
