import Foundation
import SluiceCore

/// How two outputs are compared in a shadow report: as JSON objects when both
/// are one (field by field, key order and number spelling ignored), otherwise
/// as text with surrounding whitespace trimmed.
enum ShadowComparison {
    /// The output's text, trimmed.
    static func trimmed(_ s: String) -> String { s.trimmingCharacters(in: .whitespacesAndNewlines) }

    /// The output as a JSON object, when it is one.
    static func object(_ s: String) -> JSONObject? {
        (try? JSON.parse(Array(trimmed(s).utf8)))?.objectValue
    }

    /// Whether two JSON values mean the same: objects whatever their key order, numbers by value.
    static func same(_ a: JSON, _ b: JSON) -> Bool {
        switch (a, b) {
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            for (k, v) in x {
                guard let w = y[k], same(v, w) else { return false }
            }
            return true
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (.number(let x), .number(let y)):
            return x == y || (Double(x).flatMap { dx in Double(y).map { dx == $0 } } ?? false)
        default:
            return a == b
        }
    }

    /// Whether an output agrees with the user's eventual action: its trimmed text is the action,
    /// or (for a JSON object) one of its top-level strings is; letter case ignored.
    static func agrees(_ output: String, action: String) -> Bool {
        let want = trimmed(action).lowercased()
        guard !want.isEmpty else { return false }
        if trimmed(output).lowercased() == want { return true }
        guard let obj = object(output) else { return false }
        return obj.contains { $0.value.stringValue.map { trimmed($0).lowercased() == want } ?? false }
    }

    /// The nearest-rank percentile `p` (0…1) of `values`; `nil` when empty.
    static func percentile(_ values: [Double], _ p: Double) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    /// `v` rounded to `places` decimals, as JSON; `null` for `nil`.
    static func number(_ v: Double?, places: Int = 6) -> JSON {
        guard let v, v.isFinite else { return .null }
        let scale = pow(10, Double(places))
        return .double((v * scale).rounded() / scale)
    }

    /// `text` cut to `max` characters, marked when cut.
    static func clip(_ text: String?, max: Int = 2000) -> JSON {
        guard let text else { return .null }
        return .string(text.count <= max ? text : String(text.prefix(max)) + "…")
    }
}
