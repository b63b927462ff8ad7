import Foundation
import SluiceCore
import Synchronization

/// Slows guessing: an address that presents `limit` different failing keys within a minute has
/// its failing requests refused with `429` and `Retry-After` until a minute after the first of
/// those failures. Valid keys from that address go on (other clients behind the same load
/// balancer must not pay for one client's guesses). The same wrong key sent again and again (a
/// misconfigured client) counts once. A value type decides; ``AuthThrottle`` holds it per address.
struct AuthFailureWindow: Sendable, Equatable {
    /// The failures counted, oldest first (at most `limit`), each with a short hash of its key.
    var failures: [Date] = []
    var keys: [String] = []

    /// Seconds to wait before `now`'s request may be tried, or `nil` when it may be tried now.
    func wait(limit: Int, now: Date) -> Int? {
        guard failures.count >= limit, let first = failures.first else { return nil }
        let left = 60 - now.timeIntervalSince(first)
        return left > 0 ? max(1, Int(left.rounded(.up))) : nil
    }

    /// Counts a failure at `now` with the key `key` (a hash), forgetting those older than a minute
    /// and a key already counted.
    mutating func fail(limit: Int, now: Date, key: String) {
        let keep = failures.indices.filter { now.timeIntervalSince(failures[$0]) < 60 }
        failures = keep.map { failures[$0] }
        keys = keep.map { keys.indices.contains($0) ? keys[$0] : "" }
        guard !keys.contains(key) else { return }
        failures.append(now)
        keys.append(key)
        if failures.count > limit {
            failures.removeFirst(failures.count - limit)
            keys.removeFirst(keys.count - limit)
        }
    }

    /// Whether nothing is remembered any more at `now`.
    func isStale(now: Date) -> Bool { failures.last.map { now.timeIntervalSince($0) >= 60 } ?? true }
}

/// Failed authentications per address (`server.auth_failures_per_minute`, default 20; 0 is off).
public final class AuthThrottle: Sendable {
    let limit: Int
    let clock: any WallClock
    private let windows = Mutex([String: AuthFailureWindow]())

    /// A throttle allowing `limit` failures per address per minute (0 allows any number).
    public init(limit: Int, clock: any WallClock) {
        self.limit = limit
        self.clock = clock
    }

    /// The refusal for `address` while it is slowed; `nil` when it may try.
    public func refusal(for address: String) -> SluiceError? {
        guard limit > 0 else { return nil }
        let now = clock.now()
        guard let wait = windows.withLock({ $0[address]?.wait(limit: limit, now: now) }) else { return nil }
        return SluiceError(
            .rateLimited,
            "Too many failed authentications from \(address) (\(limit) within a minute); requests from it are refused for \(wait) s. "
                + "Check the API key your client sends.",
            retryAfterSeconds: wait)
    }

    /// Counts a failed authentication from `address` presenting `key` (`nil`: none).
    public func fail(_ address: String, key: String?) {
        guard limit > 0 else { return }
        let now = clock.now()
        let tag = key.map { String(Hashing.sha256Hex($0).prefix(16)) } ?? "-"
        windows.withLock { w in
            if w.count >= 100_000 { w = w.filter { !$0.value.isStale(now: now) } }
            w[address, default: AuthFailureWindow()].fail(limit: limit, now: now, key: tag)
        }
    }
}
