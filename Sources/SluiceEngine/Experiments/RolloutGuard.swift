import Foundation
import Logging
import ServiceLifecycle
import SluiceCore
import SluiceStore

/// Watches every canary that has a guard (`PURPOSE.guard`) and rolls its
/// purpose's `variants` flag back when the canary arm breaches a limit. Every
/// node watches; the rollback is conditioned on the guard still being the one
/// judged, so exactly one node rolls back and audits it (actor `sluice:guard`).
public final class RolloutGuard: Service, Sendable {
    let store: any SluiceStore
    let flags: FlagService
    let interval: Duration
    let logger: Logger

    init(store: any SluiceStore, flags: FlagService, interval: Duration, logger: Logger) {
        self.store = store
        self.flags = flags
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while true {
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) } } catch { return }
            await check()
        }
    }

    /// Judges every guarded canary once; returns the purposes rolled back.
    @discardableResult
    public func check() async -> [String] {
        let guards = flags.live.snapshot.guards
        guard !guards.isEmpty else { return [] }
        var rolled: [String] = []
        for (purpose, spec) in guards.sorted(by: { $0.key < $1.key }) {
            guard let canary = spec.canary else { continue }
            do {
                // The canary's own calls since the rollout (its newest 1,000), not the purpose's newest
                // calls: at a 5 % canary those would hold only ~50 of the canary's.
                let calls = try await store.list(CallFilter(purpose: purpose, variant: canary, since: spec.since, limit: Self.window))
                let errors = calls.filter(Self.isFailure).count
                let checked = calls.filter { $0.schemaValid != nil }
                let valid = checked.filter { $0.schemaValid == true }.count
                guard let why = spec.breach(calls: calls.count, errors: errors, schemaChecked: checked.count, schemaValid: valid) else { continue }
                let guardKey = "\(purpose).guard"
                guard let current = try await store.flags().first(where: { $0.key == guardKey }) else { continue }
                let restore: String? = spec.rollback.isNull ? nil : spec.rollback.jsonString
                let done = try await flags.apply(
                    [FlagChange(key: guardKey, value: nil, expected: .some(current.value)), FlagChange(key: "\(purpose).variants", value: restore)],
                    actor: "sluice:guard", action: "flags.rollback", reason: why)
                if done != nil {
                    logger.warning("canary rolled back", metadata: ["purpose": "\(purpose)", "canary": "\(canary)", "reason": "\(why)"])
                    rolled.append(purpose)
                }
            } catch {
                logger.warning("could not judge a canary; will retry", metadata: ["purpose": "\(purpose)", "error": "\(error)"])
            }
        }
        return rolled
    }

    /// The most canary calls one check judges (the newest).
    static let window = 1000

    /// A call the canary is to blame for: an upstream failure, a timeout, an answer that failed its
    /// schema or guards. Refusals of the caller's own request (4xx such as budgets) are not counted.
    static func isFailure(_ r: CallRecord) -> Bool {
        r.status == .degraded || r.status == .streamInterrupted || (r.status != .ok && (r.httpStatus >= 500 || r.httpStatus == 422))
    }
}
