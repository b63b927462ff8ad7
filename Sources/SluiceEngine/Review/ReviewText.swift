import Foundation
import SluiceCore

/// Text helpers the review's renderers share: escaping, links, numbers.
enum ReviewText {
    /// Escapes a path or query component.
    static func q(_ s: String) -> String { Escaping.component(s) }

    /// Escapes text for HTML element content and quoted attributes.
    static func esc(_ s: String) -> String { Escaping.html(s) }

    /// Escapes text for a markdown table cell or line: pipes, backticks, brackets, newlines.
    static func md(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "|": out += "\\|"
            case "`", "*", "_", "[", "]", "<", ">": out += "\\\(c)"
            case "\n", "\r": out += " "
            default: out.append(c)
            }
        }
        return out
    }

    /// `$12.34` or `$0.0012`; `–` for none.
    static func usd(_ v: Double?) -> String { v.map { String(format: abs($0) >= 1 ? "$%.2f" : "$%.4f", $0) } ?? "–" }
    /// `12.5%`; `–` for none.
    static func pct(_ v: Double?) -> String { v.map { Decimals.format($0 * 100, places: 1, trim: true) + "%" } ?? "–" }
    /// `420 ms`; `–` for none.
    static func ms(_ v: Double?) -> String { v.map { Decimals.format($0, places: 0, trim: true) + " ms" } ?? "–" }
    /// An integer with thousands separators; `–` for none.
    static func int(_ v: Int?) -> String {
        guard let v else { return "–" }
        let s = String(abs(v))
        var out = ""
        for (i, c) in s.enumerated() {
            if i > 0 && (s.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return (v < 0 ? "-" : "") + out
    }
    /// `1 call`, `3 calls`.
    static func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
    /// `×4.2`, or `new` when there was nothing before.
    static func ratio(_ v: Double?) -> String { v.map { "×" + Decimals.format($0, places: 1, trim: true) } ?? "new" }
}
