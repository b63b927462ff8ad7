import Foundation
import SluiceCore
import Synchronization

/// A wall clock a test moves by hand, so nothing timed depends on sleeping.
public final class ManualClock: WallClock {
    private let time: Mutex<Date>

    /// A clock at `start` (default: now, at millisecond precision, as stores keep it).
    public init(_ start: Date = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded(.down) / 1000)) {
        time = Mutex(start)
    }

    /// The clock's time.
    public func now() -> Date { time.withLock { $0 } }

    /// Moves the clock forward.
    public func advance(_ seconds: TimeInterval) { time.withLock { $0 = $0.addingTimeInterval(seconds) } }
}
