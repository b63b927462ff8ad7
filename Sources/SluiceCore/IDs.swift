import Foundation
import Synchronization

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
        appendHex(random.withLock { $0.next() }, digits: 16, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A new call id.
    public static func callID(at date: Date = Date()) -> String { make("call", at: date) }

    /// The ids' random bits: the system's cryptographic randomness, fetched 4 KiB at a time
    /// instead of one system call per id.
    private static let random = Mutex(RandomPool())

    private static func appendHex(_ value: UInt64, digits: Int, to out: inout [UInt8]) {
        for shift in stride(from: (digits - 1) * 4, through: 0, by: -4) {
            out.append(hexDigits[Int((value >> UInt64(shift)) & 0xF)])
        }
    }
}

/// Cryptographically random 64-bit words from the system, read in blocks.
struct RandomPool: ~Copyable {
    private var words = [UInt64](repeating: 0, count: 512)
    private var used = 512

    mutating func next() -> UInt64 {
        if used == words.count { refill() }
        defer { used += 1 }
        return words[used]
    }

    private mutating func refill() {
        // /dev/urandom: three system calls per 512 words, instead of one per word.
        let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        let filled = fd >= 0 && words.withUnsafeMutableBytes { buf -> Bool in
            var off = 0
            while off < buf.count {
                let n = read(fd, buf.baseAddress! + off, buf.count - off)
                if n < 0, errno == EINTR { continue }
                if n <= 0 { return false }
                off += n
            }
            return true
        }
        if fd >= 0 { close(fd) }
        if !filled { for i in words.indices { words[i] = UInt64.random(in: .min ... .max) } }
        used = 0
    }
}
