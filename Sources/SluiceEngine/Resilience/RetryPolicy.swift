import SluiceCore
import SluiceProviders

/// What a failed attempt means for the rest of the call.
public enum FailureClass: Sendable, Equatable {
    /// Worth another try on the same target (after a backoff).
    case retryable
    /// This target cannot serve the call (a 401, 404…): go to the next target without retrying.
    case nextTarget
    /// The request itself is at fault (400, 413, 422): every target would refuse it, so the call ends.
    case fatal

    /// Statuses worth retrying: timeouts, conflicts, rate limits, and server-side trouble.
    static let retryableStatuses: Set<Int> = [408, 409, 429, 500, 502, 503, 504, 529]
    /// Statuses that say the request is malformed.
    static let fatalStatuses: Set<Int> = [400, 413, 422]

    /// The class of a provider failure.
    public init(_ error: ProviderError) {
        switch error.kind {
        case .connection, .timeout, .invalidResponse:
            self = .retryable
        case .http:
            let status = error.status ?? 500
            if Self.retryableStatuses.contains(status) {
                self = .retryable
            } else if Self.fatalStatuses.contains(status) {
                self = .fatal
            } else {
                self = .nextTarget
            }
        }
    }

    /// Whether the failure counts against the target's circuit breaker (a malformed request does not).
    var countsAgainstTarget: Bool { self != .fatal }
}

/// Backoff between tries of one target: exponential with full jitter,
/// `random(0, min(max_ms, base_ms × 2^(n-1)))` before try n+1, or the
/// upstream's `Retry-After` when it sent one.
public struct RetryPolicy: Sendable, Equatable {
    /// The `retry:` settings in force.
    public var settings: SluiceConfig.Retry

    /// A policy from settings.
    public init(_ settings: SluiceConfig.Retry) { self.settings = settings }

    /// Milliseconds to wait after failed try `n` (1-based). `unit` is a random
    /// number in 0..<1, injected so tests can pin it.
    public func delayMs(afterTry n: Int, retryAfterSeconds: Double?, unit: Double = Double.random(in: 0..<1)) -> Double {
        if let retryAfterSeconds { return retryAfterSeconds * 1000 }
        let exponent = min(max(n - 1, 0), 30)
        let ceiling = min(Double(settings.maxMs), Double(settings.baseMs) * Double(1 << exponent))
        return ceiling * unit
    }
}
