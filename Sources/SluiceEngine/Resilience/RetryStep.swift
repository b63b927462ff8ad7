import SluiceCore

/// What follows a failed attempt, decided as a value: the same target again
/// (now or after a wait), the next target, or the end of the call. No I/O and no
/// clock of its own: the caller passes `now`, so tests pin every branch.
///
/// ```swift
/// let step = RetryStep(kind: .retryable, tryNumber: 1, maxTries: 3, deadline: d, laterTargetUsable: true)
/// switch step.next(now: .now, policy: policy.retry, unit: 0.5) { … }
/// ```
struct RetryStep: Sendable, Equatable {
    /// What the failure says about the target and the request.
    var kind: FailureClass
    /// The try just made on this target (1-based).
    var tryNumber: Int
    /// Tries allowed per target (`retry.max_attempts`).
    var maxTries: Int
    /// The attempt was a stream that gave no first chunk within `ttft_timeout_ms`.
    var ttftTimedOut = false
    /// The upstream's `Retry-After`, in seconds.
    var retryAfterSeconds: Double?
    /// The call's deadline (`timeout_ms`), if any.
    var deadline: ContinuousClock.Instant?
    /// Whether a later target could be called now (not killed, breaker not refusing).
    var laterTargetUsable: Bool

    /// The decision.
    enum Action: Sendable, Equatable {
        /// Try the same target again after waiting this long (zero: at once).
        case retry(after: Duration)
        /// Go on to the next target now.
        case nextTarget
        /// End the call: the request itself is at fault (every target would refuse it).
        case reject
        /// End the call at the deadline: the wait (ms) the next try needed would pass it.
        case timeout(at: ContinuousClock.Instant, waitMs: Double)
        /// End the call now: the deadline has passed.
        case timedOut
    }

    /// The next action at `now`. `unit` is the jitter draw (0..<1) of the backoff.
    func next(now: ContinuousClock.Instant, policy: RetryPolicy, unit: Double = Double.random(in: 0..<1)) -> Action {
        if let deadline, now >= deadline { return .timedOut }
        switch kind {
        case .fatal: return .reject
        case .nextTarget: return .nextTarget
        case .retryable: break
        }
        // A stream too slow to start goes to the next target rather than waiting again.
        if ttftTimedOut || tryNumber >= maxTries { return .nextTarget }
        let waitMs = policy.delayMs(afterTry: tryNumber, retryAfterSeconds: retryAfterSeconds, unit: unit)
        if let deadline {
            if now + .milliseconds(Int64(waitMs)) >= deadline {
                // The wait would pass the deadline: try the next target now, or fail at the deadline.
                return laterTargetUsable ? .nextTarget : .timeout(at: deadline, waitMs: waitMs)
            }
        } else if waitMs > Double(policy.settings.maxMs) {
            // No deadline caps this upstream's Retry-After: do not hold the call for it.
            return .nextTarget
        }
        return .retry(after: .milliseconds(Int64(waitMs)))
    }
}
