import Foundation

/// UTC windows of quotas: days, months, minutes, and the time to the next one.
enum Windows {
    static let utc: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        return c
    }()

    /// `2026-11-23`.
    static func day(_ d: Date) -> String {
        let c = utc.dateComponents([.year, .month, .day], from: d)
        return String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
    }

    /// `2026-11`.
    static func month(_ d: Date) -> String {
        let c = utc.dateComponents([.year, .month], from: d)
        return String(format: "%04d-%02d", c.year!, c.month!)
    }

    /// `2026-11-23T10:15`.
    static func minute(_ d: Date) -> String {
        let c = utc.dateComponents([.year, .month, .day, .hour, .minute], from: d)
        return String(format: "%04d-%02d-%02dT%02d:%02d", c.year!, c.month!, c.day!, c.hour!, c.minute!)
    }

    /// The start of the UTC day of `d`.
    static func startOfDay(_ d: Date) -> Date { utc.startOfDay(for: d) }

    /// Whole seconds until the next UTC midnight (at least 1).
    static func secondsToNextDay(_ d: Date) -> Int {
        let next = utc.date(byAdding: .day, value: 1, to: startOfDay(d))!
        return max(1, Int(next.timeIntervalSince(d).rounded(.up)))
    }

    /// Whole seconds until the first of the next UTC month (at least 1).
    static func secondsToNextMonth(_ d: Date) -> Int {
        let start = utc.date(from: utc.dateComponents([.year, .month], from: d))!
        let next = utc.date(byAdding: .month, value: 1, to: start)!
        return max(1, Int(next.timeIntervalSince(d).rounded(.up)))
    }

    /// Whole seconds until the next minute (at least 1).
    static func secondsToNextMinute(_ d: Date) -> Int {
        let s = d.timeIntervalSince1970
        return max(1, Int((60 - s.truncatingRemainder(dividingBy: 60)).rounded(.up)))
    }
}
