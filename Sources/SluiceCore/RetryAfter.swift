import Foundation

/// Reads an HTTP `Retry-After` value: delay-seconds (`120`, also fractional
/// `1.5` as some providers send) or an HTTP date (`Wed, 21 Oct 2026 07:28:00 GMT`).
public enum RetryAfter {
    /// The longest wait taken from an upstream (a day); larger values are clamped to it.
    public static let maxSeconds: Double = 86_400

    /// Seconds to wait from `now`, from 0 to ``maxSeconds``; `nil` when the value is neither form.
    public static func seconds(_ value: String, now: Date = Date()) -> Double? {
        let v = value.trimmingCharacters(in: .whitespaces)
        if let s = Double(v), s.isFinite { return min(max(0, s), maxSeconds) }
        for format in formats {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = TimeZone(identifier: "GMT")
            f.dateFormat = format
            if let date = f.date(from: v) { return min(max(0, date.timeIntervalSince(now)), maxSeconds) }
        }
        return nil
    }

    /// IMF-fixdate first, then the obsolete RFC 850 and asctime forms RFC 9110 still accepts.
    static let formats = ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"]
}
