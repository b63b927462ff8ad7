import Synchronization

/// A lock-protected value that closures can capture (unlike a `Mutex`, which is non-copyable).
public final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    /// A lock holding `value`.
    public init(_ value: Value) { mutex = Mutex(value) }

    /// Runs `body` with exclusive access.
    public func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R {
        mutex.withLock { value in
            var copy = value
            let r = body(&copy)
            value = copy
            return r
        }
    }

    /// A copy of the value.
    public var value: Value { mutex.withLock { $0 } }
}
