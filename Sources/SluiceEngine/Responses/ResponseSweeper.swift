import Foundation
import Logging
import ServiceLifecycle
import SluiceCore
import SluiceStore

/// Deletes stored Responses API responses past their `expires_at` (set at save time from
/// `responses.retention_days`, see ``SluiceConfig/Responses/expiry(after:)``): at start and every
/// `interval` (an hour by default). Every node runs one; the deletes are safe to run concurrently.
public final class ResponseSweeper: Service, Sendable {
    let store: any ResponseStore
    /// The `responses:` section the gateway was built with.
    public let config: SluiceConfig.Responses
    let clock: any WallClock
    let logger: Logger
    /// The time between sweeps.
    public let interval: Duration

    /// A sweeper of `store` every `interval`.
    public init(
        store: any ResponseStore, config: SluiceConfig.Responses, clock: any WallClock, logger: Logger, interval: Duration = .seconds(3_600)
    ) {
        self.store = store
        self.config = config
        self.clock = clock
        self.logger = logger
        self.interval = interval
    }

    /// Sweeps at start, then every `interval` until graceful shutdown.
    public func run() async throws {
        let interval = self.interval
        while true {
            await sweep()
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) } } catch { return }
        }
    }

    /// One sweep: deletes the responses that expired before now; returns how many (0 when the store
    /// failed: that is logged and the next sweep tries again).
    @discardableResult
    public func sweep() async -> Int {
        do {
            let n = try await store.deleteExpiredResponses(before: clock.now())
            if n > 0 {
                logger.info("deleted expired responses", metadata: ["responses": "\(n)", "retention_days": "\(config.retentionDays)"])
            } else {
                logger.debug("no expired responses")
            }
            return n
        } catch {
            logger.warning("response sweep failed; will retry", metadata: ["error": "\(error)"])
            return 0
        }
    }
}

extension SluiceConfig.Responses {
    /// When a response created at `created` expires: `retention_days` later.
    public func expiry(after created: Date) -> Date { created.addingTimeInterval(retention) }
}
