import Foundation

/// One named run of values for a chart; `nil` is a gap (no data in that slot).
struct ChartSeries: Sendable {
    var name: String
    var values: [Double?]
}

/// Inline SVG charts, drawn on the server: no scripts, no external assets.
/// Every mark carries `data-series`, `data-x` and `data-value` (the exact
/// number plotted), so tests and scripts can read a chart back.
enum SVGChart {
    static let width = 760.0
    static let height = 220.0
    static let left = 64.0
    static let right = 24.0
    static let top = 12.0
    static let bottom = 30.0
    static let palette = ["#3b6fd4", "#e07b39", "#3aa57a", "#c94f7c", "#8a63c9", "#c9a227", "#4aa3b8", "#7a7a7a"]

    static func color(_ i: Int) -> String { palette[i % palette.count] }

    /// Bars per label; several series stack.
    static func bars(id: String, title: String, labels: [String], series: [ChartSeries], unit: Unit) -> String {
        var totals = Array(repeating: 0.0, count: labels.count)
        for s in series { for (i, v) in s.values.enumerated() where i < totals.count { totals[i] += v ?? 0 } }
        let maxY = niceMax(totals.max() ?? 0)
        let plotW = width - left - right
        let plotH = height - top - bottom
        let slot = plotW / Double(max(labels.count, 1))
        var marks = ""
        var base = Array(repeating: 0.0, count: labels.count)
        for (si, s) in series.enumerated() {
            for (i, v) in s.values.enumerated() where i < labels.count {
                guard let v else { continue }
                let h = maxY > 0 ? v / maxY * plotH : 0
                let y = top + plotH - base[i] - h
                marks += "<rect class=\"mark\" data-series=\"\(HTML.esc(s.name))\" data-x=\"\(HTML.esc(labels[i]))\" data-value=\"\(v)\" "
                marks += "x=\"\(f(left + Double(i) * slot + slot * 0.12))\" y=\"\(f(y))\" width=\"\(f(slot * 0.76))\" height=\"\(f(h))\" fill=\"\(color(si))\">"
                marks += "<title>\(HTML.esc(s.name)) \(HTML.esc(labels[i])): \(unit.format(v))</title></rect>"
                base[i] += h
            }
        }
        return frame(id: id, kind: "bar", title: title, labels: labels, series: series, maxY: maxY, unit: unit, marks: marks)
    }

    /// One line per series, with a dot on each known value.
    static func lines(id: String, title: String, labels: [String], series: [ChartSeries], unit: Unit, maxY fixed: Double? = nil) -> String {
        let maxY = fixed ?? niceMax(series.flatMap { $0.values.compactMap { $0 } }.max() ?? 0)
        let plotW = width - left - right
        let plotH = height - top - bottom
        let step = labels.count > 1 ? plotW / Double(labels.count - 1) : 0
        var marks = ""
        for (si, s) in series.enumerated() {
            var path = ""
            var pen = false
            var dots = ""
            for (i, v) in s.values.enumerated() where i < labels.count {
                guard let v else { pen = false; continue }
                let x = left + Double(i) * step
                let y = top + plotH - (maxY > 0 ? min(v, maxY) / maxY * plotH : 0)
                path += "\(pen ? "L" : "M")\(f(x)) \(f(y)) "
                pen = true
                dots += "<circle class=\"mark\" data-series=\"\(HTML.esc(s.name))\" data-x=\"\(HTML.esc(labels[i]))\" data-value=\"\(v)\" "
                dots += "cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"2.6\" fill=\"\(color(si))\"><title>\(HTML.esc(s.name)) \(HTML.esc(labels[i])): \(unit.format(v))</title></circle>"
            }
            if !path.isEmpty { marks += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(color(si))\" stroke-width=\"1.6\"/>" }
            marks += dots
        }
        return frame(id: id, kind: "line", title: title, labels: labels, series: series, maxY: maxY, unit: unit, marks: marks)
    }

    private static func frame(
        id: String, kind: String, title: String, labels: [String], series: [ChartSeries], maxY: Double, unit: Unit, marks: String
    ) -> String {
        let plotH = height - top - bottom
        var axis = ""
        for k in 0...2 {
            let v = maxY * Double(k) / 2
            let y = top + plotH - (maxY > 0 ? v / maxY * plotH : 0)
            axis += "<line x1=\"\(f(left))\" x2=\"\(f(width - right))\" y1=\"\(f(y))\" y2=\"\(f(y))\" class=\"grid\"/>"
            axis += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\" class=\"tick\">\(HTML.esc(unit.format(v)))</text>"
        }
        let every = max(1, labels.count / 6)
        let slot = (width - left - right) / Double(max(labels.count, 1))
        for (i, l) in labels.enumerated() where i % every == 0 || i == labels.count - 1 {
            let x = kind == "bar" ? left + (Double(i) + 0.5) * slot : left + Double(i) * (labels.count > 1 ? (width - left - right) / Double(labels.count - 1) : 0)
            axis += "<text x=\"\(f(x))\" y=\"\(f(height - 10))\" text-anchor=\"middle\" class=\"tick\">\(HTML.esc(shortLabel(l)))</text>"
        }
        var legend = "<div class=\"legend\">"
        for (i, s) in series.enumerated() {
            legend += "<span><i style=\"background:\(color(i))\"></i>\(HTML.esc(s.name))</span>"
        }
        legend += "</div>"
        let empty = series.allSatisfy { $0.values.allSatisfy { $0 == nil } }
        let note = empty ? "<text x=\"\(f(width / 2))\" y=\"\(f(height / 2))\" text-anchor=\"middle\" class=\"empty\">no data yet</text>" : ""
        return """
            <figure class="chart-box"><figcaption>\(HTML.esc(title))</figcaption>\
            <svg class="chart" id="\(HTML.esc(id))" data-chart="\(HTML.esc(id))" data-kind="\(kind)" data-unit="\(unit.rawValue)" \
            viewBox="0 0 \(Int(width)) \(Int(height))" width="\(Int(width))" height="\(Int(height))" role="img" aria-label="\(HTML.esc(title))">\
            \(axis)\(marks)\(note)</svg>\(series.count > 1 ? legend : "")</figure>
            """
    }

    /// `2026-11-23` → `11-23`; `2026-11-23T14` → `23 14h`.
    static func shortLabel(_ l: String) -> String {
        if l.count == 10 { return String(l.dropFirst(5)) }
        if l.count == 13 { return "\(l.dropFirst(8).prefix(2)) \(l.suffix(2))h" }
        if l.count > 14 { return "…" + l.suffix(6) }
        return l
    }

    /// A round axis maximum at or above `v`.
    static func niceMax(_ v: Double) -> Double {
        guard v > 0 else { return 1 }
        let mag = pow(10, (log10(v)).rounded(.down))
        for m in [1.0, 2, 2.5, 5, 10] where m * mag >= v { return m * mag }
        return 10 * mag
    }

    static func f(_ v: Double) -> String { String(format: "%.1f", v) }

    /// How a chart's values read.
    enum Unit: String {
        case usd, count, rate, ms, score

        func format(_ v: Double) -> String {
            switch self {
            case .usd: v >= 100 ? String(format: "$%.0f", v) : v >= 1 ? String(format: "$%.2f", v) : String(format: "$%.4f", v)
            case .count: v >= 10_000 ? String(format: "%.0fk", v / 1000) : String(format: "%.0f", v)
            case .rate: String(format: "%.1f%%", v * 100)
            case .ms: v >= 10_000 ? String(format: "%.0fs", v / 1000) : String(format: "%.0f ms", v)
            case .score: String(format: "%.2f", v)
            }
        }
    }
}
