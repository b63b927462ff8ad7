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
    private let breakers = Mutex<[String: CircuitBreaker]>([:])

    /// Breakers with these settings, timed by `clock`.
    public init(settings: SluiceConfig.Breaker, clock: any WallClock) {
        self.settings = settings
        self.clock = clock
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
        breakers.withLock { b in
            b[ticket.key, default: CircuitBreaker(settings: settings)].record(success: success, probe: ticket.probe, now: now)
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
