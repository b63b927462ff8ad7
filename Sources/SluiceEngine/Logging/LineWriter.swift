import Foundation
import Synchronization

/// Writes lines to a file descriptor from a thread of its own, so that a request
/// never waits on `write(2)`: ``enqueue(_:)`` only appends to a buffer (no system
/// call, no wake-up), and the thread writes everything queued in one call every
/// ``interval``. Under load the lines of many calls leave together; ``flush()``
/// writes what is queued at once (at exit). A line reaches the file within about
/// ``interval`` of its call.
public final class LineWriter: Sendable {
    private let fd: Int32
    private let pending = Mutex<[UInt8]>([])
    /// Serializes writes to `fd`, so lines keep their order between the thread and ``flush()``.
    private let writing = Mutex<Void>(())
    /// How often the thread writes what is queued.
    public static let interval: TimeInterval = 0.01

    /// A writer to `fd` with its thread started.
    public init(fd: Int32) {
        self.fd = fd
        let thread = Thread { [self] in
            while true {
                Thread.sleep(forTimeInterval: Self.interval)
                drain()
            }
        }
        thread.name = "sluice-log-\(fd)"
        thread.start()
    }

    /// Queues `bytes` (whole lines) for writing.
    public func enqueue(_ bytes: [UInt8]) {
        pending.withLock { $0.append(contentsOf: bytes) }
    }

    /// Writes every line queued before the call; returns once they are written.
    public func flush() { drain() }

    private func drain() {
        writing.withLock { _ in
            var batch: [UInt8] = []
            pending.withLock { swap(&batch, &$0) }
            if !batch.isEmpty { Self.writeAll(fd, batch) }
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buf in
            var off = 0
            while off < buf.count {
                let n = Foundation.write(fd, buf.baseAddress! + off, buf.count - off)
                if n < 0, errno == EINTR { continue }
                if n <= 0 { return }
                off += n
            }
        }
    }
}
