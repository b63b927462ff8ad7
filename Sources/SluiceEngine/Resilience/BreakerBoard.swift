import Foundation
import SluiceCore
import Synchronization

/// The circuit breakers of every target this node has called, keyed
/// `PROVIDER/MODEL`. Breakers are per node: each node judges the targets by
/// what it sees itself.
public final class BreakerBoard: Sendable {
    /// A pass through one breaker; hand it back with the outcome.
    public struct Ticket: Sendable {
        /// The target's key.
        public let key: String
        /// Whether this call is the half-open probe.
        public let probe: Bool
    }

    /// One breaker as `GET /admin/breakers` shows it.
    public struct Snapshot: Sendable {
        /// `PROVIDER/MODEL`.
        public var target: String
        /// `closed`, `open` or `half_open`.
        public var state: String
        /// Outcomes counted in the current window.
        public var calls: Int
        /// Errors among them.
        public var errors: Int
        /// When it last opened.
        public var openedAt: Date?
        /// When an open breaker lets its probe through.
        public var probeAt: Date?
        /// How many times it has opened since start.
        public var timesOpened: Int
    }

    let settings: SluiceConfig.Breaker
    let clock: any WallClock
    /// Configured targets always get a breaker; others (`PROVIDER/MODEL` sent by clients) only up to `limit`.
    let configured: Set<String>
    let limit: Int
    private let breakers = Mutex<[String: CircuitBreaker]>([:])

    /// Breakers with these settings, timed by `clock`. `configured` targets always
    /// have one; at most `limit` others are tracked, so clients naming arbitrary
    /// `PROVIDER/MODEL` pairs cannot grow memory without bound.
    public init(settings: SluiceConfig.Breaker, clock: any WallClock, configured: Set<String> = [], limit: Int = 1_000) {
        self.settings = settings
        self.clock = clock
        self.configured = configured
        self.limit = limit
    }

    /// The key of a target.
    public static func key(provider: String, model: String) -> String { "\(provider)/\(model)" }

    /// A ticket when the target may be called now; `nil` when its breaker is open.
    public func admit(_ key: String) -> Ticket? {
        let now = clock.now()
        let admission = breakers.withLock { b -> CircuitBreaker.Admission in
            if b[key] == nil { return .allowed }  // never failed: no breaker kept yet
            return b[key]!.admit(now: now)
        }
        switch admission {
        case .allowed: return Ticket(key: key, probe: false)
        case .probe: return Ticket(key: key, probe: true)
        case .refused: return nil
        }
    }

    /// Reports the outcome of a call made with `ticket`.
    public func record(_ ticket: Ticket, success: Bool) {
        let now = clock.now()
        let settings = self.settings
        let configured = self.configured
        let limit = self.limit
        breakers.withLock { b in
            if b[ticket.key] == nil {
                guard configured.contains(ticket.key) || b.count < configured.count + limit else { return }
                b[ticket.key] = CircuitBreaker(settings: settings)
            }
            b[ticket.key]!.record(success: success, probe: ticket.probe, now: now)
        }
    }

    /// Gives back a ticket without an outcome (the call's deadline or its caller ended it).
    public func release(_ ticket: Ticket) {
        guard ticket.probe else { return }
        let now = clock.now()
        breakers.withLock { $0[ticket.key]?.abandonProbe(now: now) }
    }

    /// Whether the target's breaker would refuse a call now.
    public func isRefusing(_ key: String) -> Bool {
        let now = clock.now()
        return breakers.withLock { $0[key]?.isRefusing(now: now) ?? false }
    }

    /// Seconds until the first of `keys` lets a probe through; `nil` when none is open.
    public func secondsToNextProbe(_ keys: [String]) -> Double? {
        let now = clock.now()
        return breakers.withLock { b in
            keys.compactMap { key -> Double? in
                switch b[key]?.state {
                case .open(let until): max(0, until.timeIntervalSince(now))
                case .halfOpen(let since): max(0, since.addingTimeInterval(b[key]!.settings.cooldownS).timeIntervalSince(now))
                default: nil
                }
            }.min()
        }
    }

    /// Every breaker known, sorted by target.
    public func snapshot() -> [Snapshot] {
        let now = clock.now()
        return breakers.withLock { b in
            b.map { key, br in
                let (calls, errors) = br.totals(now: now)
                var probeAt: Date?
                if case .open(let until) = br.state { probeAt = until }
                return Snapshot(
                    target: key, state: br.state.name, calls: calls, errors: errors, openedAt: br.openedAt,
                    probeAt: probeAt, timesOpened: br.timesOpened)
            }
        }.sorted { $0.target < $1.target }
    }
}
