import SluiceCore
@testable import SluiceEngine
import Testing

/// The retry and fallback decisions alone: no I/O, `now` given.
@Suite struct RetryStepTests {
    static let policy: RetryPolicy = {
        var s = SluiceConfig.Retry()
        s.maxAttempts = 3
        s.baseMs = 200
        s.maxMs = 1_000
        return RetryPolicy(s)
    }()
    static let t0 = ContinuousClock.now

    func step(_ kind: FailureClass, try n: Int = 1, deadline: Duration? = nil, later: Bool = false, retryAfter: Double? = nil) -> RetryStep {
        RetryStep(
            kind: kind, tryNumber: n, maxTries: 3, retryAfterSeconds: retryAfter, deadline: deadline.map { Self.t0 + $0 },
            laterTargetUsable: later)
    }

    @Test func theFailureClassDecidesFirst() {
        #expect(step(.fatal).next(now: Self.t0, policy: Self.policy) == .reject)
        #expect(step(.nextTarget).next(now: Self.t0, policy: Self.policy) == .nextTarget)
        // Full jitter: try 1 waits up to base_ms; the draw is pinned.
        #expect(step(.retryable).next(now: Self.t0, policy: Self.policy, unit: 0.5) == .retry(after: .milliseconds(100)))
        #expect(step(.retryable, try: 2).next(now: Self.t0, policy: Self.policy, unit: 0.5) == .retry(after: .milliseconds(200)))
        // The last try on a target moves on.
        #expect(step(.retryable, try: 3).next(now: Self.t0, policy: Self.policy) == .nextTarget)
    }

    @Test func aStreamTooSlowToStartMovesOn() {
        var s = step(.retryable)
        s.ttftTimedOut = true
        #expect(s.next(now: Self.t0, policy: Self.policy) == .nextTarget)
    }

    @Test func theDeadlineBoundsEveryWait() {
        // Past the deadline: the call ends, whatever the failure.
        #expect(step(.retryable, deadline: .seconds(1)).next(now: Self.t0 + .seconds(2), policy: Self.policy) == .timedOut)
        #expect(step(.fatal, deadline: .seconds(1)).next(now: Self.t0 + .seconds(2), policy: Self.policy) == .timedOut)
        // A Retry-After of 5 s with 1 s left: the next target if one can be called, else fail at the deadline.
        let d = Self.t0 + .seconds(1)
        #expect(step(.retryable, deadline: .seconds(1), later: true, retryAfter: 5).next(now: Self.t0, policy: Self.policy) == .nextTarget)
        #expect(
            step(.retryable, deadline: .seconds(1), retryAfter: 5).next(now: Self.t0, policy: Self.policy)
                == .timeout(at: d, waitMs: 5_000))
        // A wait that fits is taken.
        #expect(
            step(.retryable, deadline: .seconds(10), retryAfter: 2).next(now: Self.t0, policy: Self.policy) == .retry(after: .seconds(2)))
    }

    @Test func withoutADeadlineALongRetryAfterIsNotWaitedFor() {
        #expect(step(.retryable, retryAfter: 30).next(now: Self.t0, policy: Self.policy) == .nextTarget)
        #expect(step(.retryable, retryAfter: 0.5).next(now: Self.t0, policy: Self.policy) == .retry(after: .milliseconds(500)))
    }
}
