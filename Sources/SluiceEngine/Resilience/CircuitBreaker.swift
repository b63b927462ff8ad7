import Foundation

/// The circuit breaker of one target, as a value-type state machine. Time is
/// passed in, so every transition can be tested with a manual clock.
///
/// - closed: calls pass; outcomes are counted in one-second buckets over
///   `window_s`. When the window holds at least `min_calls` outcomes and the
///   share of errors reaches `error_rate`, the breaker opens.
/// - open: calls are refused until `cooldown_s` has passed.
/// - half-open: one probe call is let through; its success closes the breaker,
///   its failure opens it for another cool-down. A probe that never reports
///   (its caller vanished) is replaced after another cool-down.
public struct CircuitBreaker: Sendable, Equatable {
    /// Where the breaker stands.
    public enum State: Sendable, Equatable {
        case closed
        /// Refusing calls until `until`.
        case open(until: Date)
        /// One probe is out since `probeSince`.
        case halfOpen(probeSince: Date)

        /// `closed`, `open` or `half_open`.
        public var name: String {
            switch self {
            case .closed: "closed"
            case .open: "open"
            case .halfOpen: "half_open"
            }
        }
    }

    /// What the breaker says to one call.
    public enum Admission: Sendable, Equatable {
        /// Go ahead; report the outcome.
        case allowed
        /// Go ahead as the half-open probe; the outcome decides the state.
        case probe
        /// Do not call this target.
        case refused
    }

    struct Bucket: Sendable, Equatable {
        var second: Int64
        var calls: Int
        var errors: Int
    }

    /// The settings from `breaker:`.
    public let settings: SluiceConfig.Breaker
    /// The current state.
    public private(set) var state: State = .closed
    /// When the breaker last opened; `nil` if it never has.
    public private(set) var openedAt: Date?
    /// How many times it has opened.
    public private(set) var timesOpened = 0
    private var buckets: [Bucket]

    /// A closed breaker.
    public init(settings: SluiceConfig.Breaker) {
        self.settings = settings
        buckets = Array(repeating: Bucket(second: .min, calls: 0, errors: 0), count: max(1, Int(settings.windowS.rounded(.up))))
    }

    /// Decides whether a call may go to the target now.
    public mutating func admit(now: Date) -> Admission {
        switch state {
        case .closed:
            return .allowed
        case .open(let until):
            guard now >= until else { return .refused }
            state = .halfOpen(probeSince: now)
            return .probe
        case .halfOpen(let since):
            guard now.timeIntervalSince(since) >= settings.cooldownS else { return .refused }
            // The probe never reported: let another one through.
            state = .halfOpen(probeSince: now)
            return .probe
        }
    }

    /// Reports the outcome of a call that `admit` let through.
    public mutating func record(success: Bool, probe: Bool, now: Date) {
        switch state {
        case .closed:
            count(error: !success, now: now)
            // Only a failure can push the rate over the threshold.
            guard !success else { return }
            let (calls, errors) = totals(now: now)
            if calls >= settings.minCalls, Double(errors) >= settings.errorRate * Double(calls) {
                open(now: now)
            }
        case .halfOpen:
            // Only the probe decides; late outcomes of calls let through before the breaker opened are ignored.
            guard probe else { return }
            if success {
                state = .closed
                clear()
            } else {
                open(now: now)
            }
        case .open:
            break
        }
    }

    /// Hands back a probe whose outcome says nothing about the target (the call's
    /// own deadline cut it, or its caller went away): the next call probes at once.
    public mutating func abandonProbe(now: Date) {
        if case .halfOpen = state { state = .open(until: now) }
    }

    /// Whether `admit` would refuse now (without taking a probe).
    public func isRefusing(now: Date) -> Bool {
        switch state {
        case .closed: false
        case .open(let until): now < until
        case .halfOpen(let since): now.timeIntervalSince(since) < settings.cooldownS
        }
    }

    /// Calls and errors in the window ending at `now`.
    public func totals(now: Date) -> (calls: Int, errors: Int) {
        let current = Self.second(now)
        var calls = 0
        var errors = 0
        for b in buckets where b.second <= current && b.second > current - Int64(buckets.count) {
            calls += b.calls
            errors += b.errors
        }
        return (calls, errors)
    }

    private mutating func open(now: Date) {
        state = .open(until: now.addingTimeInterval(settings.cooldownS))
        openedAt = now
        timesOpened += 1
        clear()
    }

    private mutating func clear() {
        for i in buckets.indices { buckets[i] = Bucket(second: .min, calls: 0, errors: 0) }
    }

    private mutating func count(error: Bool, now: Date) {
        let s = Self.second(now)
        let i = Int(((s % Int64(buckets.count)) + Int64(buckets.count)) % Int64(buckets.count))
        if buckets[i].second != s { buckets[i] = Bucket(second: s, calls: 0, errors: 0) }
        buckets[i].calls += 1
        if error { buckets[i].errors += 1 }
    }

    static func second(_ d: Date) -> Int64 { Int64(d.timeIntervalSince1970.rounded(.down)) }
}
