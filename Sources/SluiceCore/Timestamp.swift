#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Fast RFC 3339 UTC timestamps with milliseconds (`2026-11-23T10:36:54.079Z`),
/// used on every log line and call record; Foundation's formatters cost
/// microseconds each.
public enum Timestamp {
    /// Formats `date`.
    public static func iso8601(_ date: Date) -> String {
        let t = date.timeIntervalSince1970
        var seconds = time_t(t.rounded(.down))
        var ms = Int(((t - Double(seconds)) * 1000).rounded(.down))
        if ms >= 1000 { ms = 999 }
        if ms < 0 { ms = 0 }
        var tm = tm()
        gmtime_r(&seconds, &tm)
        return String(unsafeUninitializedCapacity: 24) { buf in
            var i = 0
            func put(_ v: Int, _ width: Int) {
                var n = v
                for k in stride(from: width - 1, through: 0, by: -1) {
                    buf[i + k] = UInt8(truncatingIfNeeded: 0x30 + n % 10)
                    n /= 10
                }
                i += width
            }
            func sep(_ c: UInt8) {
                buf[i] = c
                i += 1
            }
            put(Int(tm.tm_year) + 1900, 4); sep(0x2D)
            put(Int(tm.tm_mon) + 1, 2); sep(0x2D)
            put(Int(tm.tm_mday), 2); sep(0x54)
            put(Int(tm.tm_hour), 2); sep(0x3A)
            put(Int(tm.tm_min), 2); sep(0x3A)
            put(Int(tm.tm_sec), 2); sep(0x2E)
            put(ms, 3); sep(0x5A)
            return i
        }
    }
}
