import Foundation
import Logging
import ServiceLifecycle
import SluiceCore

/// Background upkeep of the shared store, run by every node (the statements
/// are safe to run concurrently): leases past their expiry (plus a grace for
/// slow settles) go back to their pools; idle quota windows, expired cache entries and old idempotent responses are pruned (hourly).
public final class StoreMaintenance: Service, Sendable {
    let store: any SluiceStore
    let clock: any WallClock
    let logger: Logger
    let interval: Duration
    /// A lease is reclaimed this long after it expired, so a live node always settles its own first.
    static let grace: TimeInterval = 60
    /// Quota windows untouched this long are deleted.
    static let windowRetention: TimeInterval = 2 * 86_400
    /// Stored `Idempotency-Key` responses are replayed for 24 h and deleted after two days.
    static let idempotencyRetention: TimeInterval = 2 * 86_400

    /// Upkeep every `interval`.
    public init(store: any SluiceStore, clock: any WallClock, logger: Logger, interval: Duration = .seconds(10)) {
        self.store = store
        self.clock = clock
        self.logger = logger
        self.interval = interval
    }

    /// Runs until graceful shutdown.
    public func run() async throws {
        var rounds = 0
        let interval = self.interval
        while true {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return  // shutdown or cancellation
            }
            await once(prune: rounds % 360 == 0)
            rounds += 1
        }
    }

    /// One round of upkeep; failures are logged and retried next round.
    public func once(prune: Bool) async {
        let now = clock.now()
        do {
            let n = try await store.reclaimExpiredLeases(now: now.addingTimeInterval(-Self.grace))
            if n > 0 { logger.notice("reclaimed expired quota leases", metadata: ["leases": "\(n)"]) }
            if prune {
                _ = try await store.pruneQuotaWindows(before: now.addingTimeInterval(-Self.windowRetention))
                _ = try await store.pruneIdempotency(before: now.addingTimeInterval(-Self.idempotencyRetention))
                let purged = try await store.cachePurge(expiredAt: now)
                if purged > 0 { logger.info("purged expired cache entries", metadata: ["entries": "\(purged)"]) }
            }
        } catch {
            logger.warning("store upkeep failed; will retry", metadata: ["error": "\(error)"])
        }
    }
}
