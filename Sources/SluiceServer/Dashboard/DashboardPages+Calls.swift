import Foundation
import SluiceCore

extension DashboardPages {
    static func calls(_ j: JSON) -> String {
        let f = j["filter"]
        func field(_ name: String, _ label: String) -> String {
            "<label>\(label)<input name=\"\(name)\" value=\"\(HTML.esc(f?[name]?.stringValue ?? ""))\"></label>"
        }
        var body = "<form class=\"filters\" method=\"get\" action=\"/calls\">"
        body += field("purpose", "Purpose") + field("model", "Model") + field("status", "Status") + field("run_id", "Run id")
        body += "<button type=\"submit\">Filter</button></form>"
        let rows = (j["calls"]?.arrayValue ?? []).map { c -> [String] in
            let id = c["call_id"]?.stringValue ?? ""
            let status = c["status"]?.stringValue ?? ""
            return [
                "<a class=\"call\" href=\"/calls/\(HTML.query(id))\">\(HTML.esc(id))</a>", HTML.esc(c["created_at"]?.stringValue ?? ""),
                HTML.esc(c["purpose"]?.stringValue ?? ""), HTML.esc(c["model"]?.stringValue ?? ""),
                status == "ok" ? "ok" : "<span class=\"bad\">\(HTML.esc(status))</span>", HTML.esc(c["cache"]?.stringValue ?? ""),
                HTML.num("attempts", c["attempts"], c["attempts"]?.intValue.map(String.init)),
                HTML.num("tokens", .int((c["input_tokens"]?.intValue ?? 0) + (c["output_tokens"]?.intValue ?? 0)), nil),
                HTML.num("cost_usd", c["cost_usd"], HTML.usd(c["cost_usd"])), HTML.num("latency_ms", c["latency_ms"], HTML.ms(c["latency_ms"])),
                HTML.esc(c["run_id"]?.stringValue ?? ""),
            ]
        }
        // Oldest on the left: the listed calls' latency, one bar each, coloured by status.
        let listed = (j["calls"]?.arrayValue ?? []).reversed()
        let labels = listed.map { $0["call_id"]?.stringValue ?? "" }
        let statuses = Array(Set(listed.compactMap { $0["status"]?.stringValue })).sorted()
        body += SVGChart.bars(
            id: "calls-latency", title: "Latency of the calls listed (ms), oldest first", labels: labels,
            series: statuses.map { st in
                ChartSeries(name: st, values: listed.map { $0["status"]?.stringValue == st ? $0["latency_ms"]?.doubleValue : nil })
            }, unit: .ms)
        body += HTML.table(
            id: "calls", headers: ["Call", "At", "Purpose", "Model", "Status", "Cache", "Attempts", "Tokens", "Cost", "Latency", "Run"],
            rows: rows, empty: "No calls match.")
        if let next = j["next_cursor"]?.stringValue {
            var q = ["before=\(HTML.query(next))"]
            for k in ["purpose", "model", "status", "run_id"] { if let v = f?[k]?.stringValue { q.append("\(k)=\(HTML.query(v))") } }
            body += "<p><a id=\"next-page\" href=\"/calls?\(q.joined(separator: "&"))\">Older calls →</a></p>"
        }
        return HTML.page(title: "Calls", active: "calls", asOf: j["as_of"]?.stringValue, body: body)
    }

    /// One call: its fields, its attempts, and (when stored) its request, output and tool calls.
    static func call(_ c: JSON) -> String {
        let id = c["call_id"]?.stringValue ?? ""
        let keys = [
            "created_at", "purpose", "run_id", "user", "key", "prompt_name", "prompt_version", "variant", "model", "provider", "answered_model",
            "status", "http_status", "error", "cache", "stream", "input_tokens", "output_tokens", "cached_tokens", "cost_usd", "saved_usd",
            "latency_ms", "ttft_ms", "overhead_ms", "schema_valid", "refusal", "repairs", "batch_id", "shadow_of",
        ]
        let fields = keys.compactMap { k -> [String]? in
            guard let v = c[k], !v.isNull else { return nil }
            let text: String
            switch v {
            case .string(let s): text = HTML.esc(s)
            case .number: text = HTML.num(k, v, nil)
            default: text = HTML.esc(HTML.jsonText(v))
            }
            return ["<b>\(k)</b>", "<span data-field=\"\(k)\">\(text)</span>"]
        }
        var body = HTML.table(id: "call-fields", headers: ["Field", "Value"], rows: fields)
        let attempts = (c["attempts"]?.arrayValue ?? []).enumerated().map { i, a -> [String] in
            [
                "<span class=\"attempt\" data-index=\"\(i + 1)\">\(i + 1)</span>", HTML.esc(a["provider"]?.stringValue ?? ""),
                HTML.esc(a["model"]?.stringValue ?? ""), a["status"]?.intValue.map(String.init) ?? "–",
                HTML.num("attempt_latency_ms", a["latency_ms"], HTML.ms(a["latency_ms"])),
                a["error"]?.stringValue.map { "<span class=\"bad\">\(HTML.esc($0))</span>" } ?? "ok",
            ]
        }
        body += "<h2>Attempts</h2>"
        let tried = (c["attempts"]?.arrayValue ?? []).enumerated().map { "\($0.offset + 1) \($0.element["provider"]?.stringValue ?? "")" }
        body += SVGChart.bars(
            id: "attempts-latency", title: "Latency per attempt (ms)", labels: tried,
            series: [ChartSeries(name: "attempt", values: (c["attempts"]?.arrayValue ?? []).map { $0["latency_ms"]?.doubleValue })], unit: .ms)
        body += HTML.table(id: "attempts", headers: ["#", "Provider", "Upstream model", "HTTP", "Latency", "Result"], rows: attempts,
                           empty: "No upstream attempt (answered from the cache, or refused before any provider).")
        if let req = c["request"], !req.isNull {
            body += "<h2>Request</h2><pre id=\"request\">\(HTML.esc(req.stringValue ?? HTML.jsonText(req)))</pre>"
        }
        if let out = c["output"]?.stringValue {
            body += "<h2>Output</h2><pre id=\"output\">\(HTML.esc(out))</pre>"
        }
        if let calls = c["tool_calls"]?.arrayValue, !calls.isEmpty {
            let rows = calls.map { t -> [String] in
                [
                    "<span class=\"tool\">\(HTML.esc(t["name"]?.stringValue ?? ""))</span>",
                    t["arguments"]?.stringValue.map { "<pre>\(HTML.esc($0))</pre>" } ?? "<span class=\"muted\">not stored (log_bodies: hash)</span>",
                ]
            }
            body += "<h2>Tool calls</h2>" + HTML.table(id: "tool-calls", headers: ["Tool", "Arguments"], rows: rows)
        }
        return HTML.page(title: "Call \(id)", active: "calls", asOf: nil, body: body)
    }
}
