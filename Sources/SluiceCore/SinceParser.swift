import Foundation

/// Parses `--since` / `since=` values: a duration back from now (`90s`, `30m`,
/// `1h`, `7d`, `2w`) or an ISO 8601 time.
public enum SinceParser {
    /// The time `text` names (`now` minus a duration, or an ISO 8601 time); `nil` if unparsable or out of range.
    public static func parse(_ text: String, now: Date) -> Date? {
        if let unit = text.last, let n = Double(text.dropLast()), n.isFinite, n >= 0,
            text.dropLast().allSatisfy({ $0.isNumber || $0 == "." })
        {
            let seconds: Double? = switch unit {
            case "s": n
            case "m": n * 60
            case "h": n * 3600
            case "d": n * 86_400
            case "w": n * 604_800
            default: nil
            }
            // At most about 100 years back: anything larger is a typo, not a filter.
            if let seconds { return seconds <= 3.2e9 ? now.addingTimeInterval(-seconds) : nil }
        }
        if let d = try? Date(text, strategy: .iso8601), abs(d.timeIntervalSince1970) < 1e11 { return d }
        return nil
    }
}
