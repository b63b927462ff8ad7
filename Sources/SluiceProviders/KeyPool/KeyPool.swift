import Foundation

/// The rate-limit state of one provider's keys (`api_keys:`), as a value: which key a call
/// should use (``pick(now:excluding:roll:)``) and what each answer taught about its key
/// (``answered(_:status:reading:retryAfterSeconds:now:)``). It holds key **names** only; the
/// secrets stay with ``SharedKeyPool``. Every time decision takes `now` from the caller.
public struct KeyPool: Sendable, Equatable {
    /// What Sluice knows about one key.
    public struct KeyState: Sendable, Equatable {
        /// The key's `name` from the config.
        public var name: String
        /// Its share of the calls among the keys with room.
        public var weight: Double
        /// Requests left in the current window, from the last answer (decremented per call sent since).
        public var remainingRequests: Int?
        /// Tokens left in the current window, from the last answer.
        public var remainingTokens: Int?
        /// When the request window resets.
        public var requestsReset: Date?
        /// When the token window resets.
        public var tokensReset: Date?
        /// Set by a 429: the key is not used before this time.
        public var cooldownUntil: Date?
        /// Requests sent with the key since start.
        public var calls = 0
        /// 429 answers it got since start.
        public var rateLimited = 0

        /// A key nothing is known about yet.
        public init(name: String, weight: Double) {
            self.name = name
            self.weight = weight
        }

        /// When the key has room again, or `nil` when it has room at `now`.
        public func blockedUntil(now: Date) -> Date? {
            var until: Date?
            func block(_ d: Date?) { if let d, d > now { until = max(until ?? d, d) } }
            block(cooldownUntil)
            if remainingRequests == 0 { block(requestsReset) }
            if remainingTokens == 0 { block(tokensReset) }
            return until
        }

        /// Why the key is blocked, for messages: the cooldown or the exhausted limit.
        public func blockReason(now: Date) -> String {
            if let c = cooldownUntil, c > now { return "cooling down after a 429" }
            if remainingRequests == 0 { return "remaining requests 0" }
            return "remaining tokens 0"
        }

        /// Forgets a window whose reset time has passed and a cooldown that is over.
        mutating func refresh(now: Date) {
            if let r = requestsReset, r <= now {
                remainingRequests = nil
                requestsReset = nil
            }
            if let r = tokensReset, r <= now {
                remainingTokens = nil
                tokensReset = nil
            }
            if let c = cooldownUntil, c <= now { cooldownUntil = nil }
        }
    }

    /// When a blocked key has room again, and why it has none now.
    public struct Wait: Sendable, Equatable {
        /// The key's name.
        public var name: String
        /// When it has room again.
        public var until: Date
        /// `cooling down after a 429`, `remaining requests 0` or `remaining tokens 0`.
        public var reason: String

        /// A wait from its parts.
        public init(name: String, until: Date, reason: String) {
            self.name = name
            self.until = until
            self.reason = reason
        }
    }

    /// What to do with a call.
    public enum Pick: Sendable, Equatable {
        /// Send it with the key at this index.
        case send(Int)
        /// No key has room: when each has room again, soonest first.
        case exhausted([Wait])
    }

    /// The keys, in config order.
    public private(set) var keys: [KeyState]
    /// How long a key that got a 429 without a reset time or `Retry-After` cools down, in seconds.
    public var defaultCooldown: TimeInterval
    /// How long a limit reported at 0 without a reset time blocks its key, in seconds.
    public var defaultWindow: TimeInterval { defaultCooldown }

    /// A pool of keys `(name, weight)`; names must be unique (the config loader checks).
    public init(keys: [(name: String, weight: Double)], defaultCooldown: TimeInterval = 10) {
        self.keys = keys.map { KeyState(name: $0.name, weight: $0.weight) }
        self.defaultCooldown = defaultCooldown
    }

    /// Chooses a key for a call: weighted by `roll` (in `0..<1`) among the keys with room at
    /// `now` that are not in `excluding`. The chosen key's call count goes up and its known
    /// remaining requests down, so calls in flight spread before the next answer reports.
    /// When no key has room the answer lists when each (not excluded) key has room again.
    public mutating func pick(now: Date, excluding: Set<Int> = [], roll: Double) -> Pick {
        for i in keys.indices { keys[i].refresh(now: now) }
        let open = keys.indices.filter { !excluding.contains($0) && keys[$0].blockedUntil(now: now) == nil }
        guard !open.isEmpty else { return .exhausted(waits(now: now, excluding: excluding)) }
        let total = open.reduce(0.0) { $0 + keys[$1].weight }
        var point = min(max(roll, 0), 0.999_999_999) * total
        var chosen = open.last!
        for i in open {
            point -= keys[i].weight
            if point < 0 {
                chosen = i
                break
            }
        }
        keys[chosen].calls += 1
        if let n = keys[chosen].remainingRequests, n > 0 { keys[chosen].remainingRequests = n - 1 }
        return .send(chosen)
    }

    /// When each blocked key not in `excluding` has room again, soonest first.
    public func waits(now: Date, excluding: Set<Int> = []) -> [Wait] {
        let waits = keys.indices.filter { !excluding.contains($0) }.compactMap { i -> Wait? in
            keys[i].blockedUntil(now: now).map { Wait(name: keys[i].name, until: $0, reason: keys[i].blockReason(now: now)) }
        }
        return waits.sorted { $0.until < $1.until }
    }

    /// Takes in an answer the key at `index` got: the rate-limit headers' `reading` replace
    /// what was known (a limit at 0 without a reset time blocks for ``defaultWindow``). A 429
    /// puts the key in cooldown until `Retry-After`, else the reset time of its exhausted
    /// limit (else the later reset it reported), else for ``defaultCooldown``.
    public mutating func answered(_ index: Int, status: Int?, reading: RateLimitReading, retryAfterSeconds: Double?, now: Date) {
        guard keys.indices.contains(index) else { return }
        var k = keys[index]
        if let n = reading.remainingRequests {
            k.remainingRequests = n
            k.requestsReset = reading.requestsReset ?? (n == 0 ? now.addingTimeInterval(defaultWindow) : nil)
        } else if let r = reading.requestsReset {
            k.requestsReset = r
        }
        if let n = reading.remainingTokens {
            k.remainingTokens = n
            k.tokensReset = reading.tokensReset ?? (n == 0 ? now.addingTimeInterval(defaultWindow) : nil)
        } else if let r = reading.tokensReset {
            k.tokensReset = r
        }
        if status == 429 {
            k.rateLimited += 1
            var until: Date
            if let s = retryAfterSeconds {
                until = now.addingTimeInterval(s)
            } else {
                let exhausted = [
                    reading.remainingRequests == 0 ? reading.requestsReset : nil,
                    reading.remainingTokens == 0 ? reading.tokensReset : nil,
                ].compactMap { $0 }
                let any = [reading.requestsReset, reading.tokensReset].compactMap { $0 }
                until = exhausted.max() ?? any.max() ?? now.addingTimeInterval(defaultCooldown)
            }
            if until <= now { until = now.addingTimeInterval(defaultCooldown) }
            k.cooldownUntil = max(k.cooldownUntil ?? until, until)
        }
        keys[index] = k
    }

    /// The keys as of `now` (passed windows and cooldowns forgotten), for the admin view and metrics.
    public func snapshot(now: Date) -> [KeyState] {
        keys.map { k in
            var k = k
            k.refresh(now: now)
            return k
        }
    }
}
