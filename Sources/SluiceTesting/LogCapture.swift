import Synchronization

/// Collects log lines in memory so tests can assert what was (and was not) logged.
public final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    /// An empty capture.
    public init() {}

    /// Appends one line.
    public func append(_ bytes: [UInt8]) {
        let line = String(decoding: bytes, as: UTF8.self)
        lines.withLock { $0.append(line) }
    }

    /// Everything logged so far, joined.
    public var text: String { lines.withLock { $0.joined() } }

    /// The lines logged so far.
    public var all: [String] { lines.withLock { $0 } }
}
