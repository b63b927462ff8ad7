import Foundation

/// The source of wall-clock time. Production uses ``SystemClock``; tests inject
/// a manual clock so nothing timed depends on sleeping.
public protocol WallClock: Sendable {
    /// The current time.
    func now() -> Date
}

/// The system's clock.
public struct SystemClock: WallClock {
    /// The system clock.
    public init() {}
    /// The current system time.
    public func now() -> Date { Date() }
}
