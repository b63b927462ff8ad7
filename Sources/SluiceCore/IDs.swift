import Foundation

/// Identifier generation. Call ids sort by creation time (48-bit milliseconds,
/// then 64 random bits), which keeps the call log's primary index append-only.
public enum IDs {
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// A new time-ordered id with the given prefix, such as `call_0193a4…`.
    public static func make(_ prefix: String, at date: Date = Date()) -> String {
        let ms = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        var bytes = Array(prefix.utf8)
        bytes.append(UInt8(ascii: "_"))
        appendHex(ms & 0xFFFF_FFFF_FFFF, digits: 12, to: &bytes)
        appendHex(UInt64.random(in: .min ... .max), digits: 16, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A new call id.
    public static func callID(at date: Date = Date()) -> String { make("call", at: date) }

    private static func appendHex(_ value: UInt64, digits: Int, to out: inout [UInt8]) {
        for shift in stride(from: (digits - 1) * 4, through: 0, by: -4) {
            out.append(hexDigits[Int((value >> UInt64(shift)) & 0xF)])
        }
    }
}
