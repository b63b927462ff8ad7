import Foundation
import SluiceCore
import Synchronization

/// One provider's pool of API keys (`api_keys:`), shared by its calls: a ``KeyPool`` behind a
/// lock, the secrets beside it, and the injected clock every decision reads. The secrets
/// never leave through its public API: only names and states do.
public final class SharedKeyPool: Sendable {
    /// One configured key.
    public struct Key: Sendable {
        /// Its name, unique within the provider; what records, metrics and `/admin/breakers` show.
        public var name: String
        /// The secret sent upstream.
        public var secret: String
        /// Its share of the calls among the keys with room.
        public var weight: Double

        /// A key from its parts.
        public init(name: String, secret: String, weight: Double = 1) {
            self.name = name
            self.secret = secret
            self.weight = weight
        }
    }

    /// A key chosen for one request.
    struct Choice: Sendable {
        var index: Int
        var name: String
        var secret: String
    }

    /// The provider's configured name.
    public let provider: String
    private let secrets: [String]
    private let state: Mutex<KeyPool>
    private let clock: any WallClock

    /// A pool of `keys` for `provider`; a 429 without a reset time cools its key for `defaultCooldown` seconds.
    public init(provider: String, keys: [Key], clock: any WallClock, defaultCooldown: TimeInterval = 10) {
        self.provider = provider
        self.secrets = keys.map(\.secret)
        self.names = keys.map(\.name)
        self.state = Mutex(KeyPool(keys: keys.map { ($0.name, $0.weight) }, defaultCooldown: defaultCooldown))
        self.clock = clock
    }

    /// Every secret of the pool, to scrub from upstream messages.
    var allSecrets: [String] { secrets }

    /// The key names, in config order.
    public let names: [String]

    /// The keys' states now (passed windows and cooldowns forgotten).
    public func snapshot() -> [KeyPool.KeyState] {
        let now = clock.now()
        return state.withLock { $0.snapshot(now: now) }
    }

    /// The current time, by the pool's clock.
    public var now: Date { clock.now() }

    /// A key with room, weighted; `nil` and the waits of the keys not in `excluding` when none has room.
    func pick(excluding: Set<Int> = []) -> Result<Choice, PoolExhausted> {
        let now = clock.now()
        let roll = Double.random(in: 0..<1)
        let pick = state.withLock { $0.pick(now: now, excluding: excluding, roll: roll) }
        switch pick {
        case .send(let i):
            return .success(Choice(index: i, name: names[i], secret: secrets[i]))
        case .exhausted(let waits):
            return .failure(PoolExhausted(provider: provider, waits: waits, now: now))
        }
    }

    /// When each blocked key other than those in `excluding` has room again, soonest first.
    func waits(excluding: Set<Int>) -> PoolExhausted {
        let now = clock.now()
        return PoolExhausted(provider: provider, waits: state.withLock { $0.waits(now: now, excluding: excluding) }, now: now)
    }

    /// Takes in the answer the key at `index` got (its status and rate-limit reading).
    func answered(_ index: Int, status: Int?, reading: RateLimitReading, retryAfterSeconds: Double?) {
        let now = clock.now()
        state.withLock { $0.answered(index, status: status, reading: reading, retryAfterSeconds: retryAfterSeconds, now: now) }
    }
}

/// Every key of a pool is blocked: the error a call gets instead of a request sent, a 429
/// that retries and falls over like an upstream's, its `Retry-After` the soonest reset.
struct PoolExhausted: Error, Sendable {
    var provider: String
    var waits: [KeyPool.Wait]
    var now: Date

    /// Each key's name, reset time and why it is blocked: `'a' until 2026-11-23T10:50:20.000Z (remaining requests 0)`.
    var list: String {
        waits.map { "'\($0.name)' until \(Timestamp.iso8601($0.until)) (\($0.reason))" }.joined(separator: ", ")
    }

    /// The provider error: HTTP 429 naming each key's reset time and why it is blocked.
    var providerError: ProviderError {
        let soonest = waits.first.map { max(0, $0.until.timeIntervalSince(now)) }
        return ProviderError(
            .http, status: 429,
            message: "every key of provider '\(provider)' is rate-limited, so no request was sent: \(list)",
            retryAfterSeconds: soonest)
    }
}

/// The keys one attempt used, in order, with the status each got (`nil`: no answer). The
/// engine sets one around each attempt (``current``) and copies it into the call record's
/// attempt; a provider without a key pool leaves it empty.
public final class KeyUseLog: Sendable {
    /// One request of the attempt.
    public struct Use: Sendable, Equatable {
        /// The key's name.
        public var key: String
        /// The upstream status, when an answer arrived.
        public var status: Int?
    }

    private let uses = Mutex<[Use]>([])

    /// An empty log.
    public init() {}

    /// The requests so far.
    public var all: [Use] { uses.withLock { $0 } }

    func append(key: String, status: Int?) { uses.withLock { $0.append(Use(key: key, status: status)) } }

    /// The log of the attempt running in this task; `nil` outside one.
    @TaskLocal public static var current: KeyUseLog?
}
