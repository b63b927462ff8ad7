import Foundation
import Logging
import SluiceCore
import SluiceStore
import Synchronization

/// Operators' overrides of the `end_users:` defaults (`PUT /admin/end-users/{user}`):
/// written through the store (audited), applied here at once, and announced on the
/// change feed (topic `end_users`) so every node reloads them within a second.
public final class EndUserBoard: Sendable {
    /// The change-feed topic end-user changes are announced on.
    public static let topic = "end_users"

    let store: any SluiceStore
    let feed: any ChangeFeed
    let clock: any WallClock
    let logger: Logger
    private let overrides = Mutex<[String: EndUserLimit]>([:])
    private let generation = Mutex<(started: Int, applied: Int)>((0, 0))

    /// A board over `store`.
    public init(store: any SluiceStore, feed: any ChangeFeed, clock: any WallClock, logger: Logger) {
        self.store = store
        self.feed = feed
        self.clock = clock
        self.logger = logger
    }

    /// The override of `user`, if any (the hot path reads this).
    public func override(_ user: String) -> EndUserLimit? { overrides.withLock { $0[user] } }

    /// Whether any override exists.
    var isEmpty: Bool { overrides.withLock { $0.isEmpty } }

    /// Every override, by user.
    public var all: [EndUserLimit] { overrides.withLock { $0.values.sorted { $0.user < $1.user } } }

    /// Reloads the overrides from the store.
    public func reload() async throws {
        let number = generation.withLock { g -> Int in
            g.started += 1
            return g.started
        }
        let list = try await store.endUserLimits()
        generation.withLock { g in
            guard number > g.applied else { return }
            g.applied = number
            overrides.withLock { $0 = Dictionary(list.map { ($0.user, $0) }, uniquingKeysWith: { $1 }) }
        }
    }

    /// Reloads, logging instead of throwing (for change handlers).
    public func reloadLogged() async {
        do { try await reload() } catch {
            logger.error("could not reload end-user limits; keeping the ones loaded", metadata: ["error": "\(error)"])
        }
    }

    /// Sets the override of `limit.user` (its time and actor are set here), audited.
    public func put(_ limit: EndUserLimit, actor: String) async throws -> EndUserLimit {
        let now = clock.now()
        var l = limit
        l.updatedAt = now
        l.actor = actor
        let audit = AuditEntry(
            id: IDs.make("aud", at: now), at: now, actor: actor, action: l.blocked ? "end_users.block" : "end_users.set",
            target: "end_user:\(l.user)", reason: l.reason, oldValue: override(l.user).map(Self.value), newValue: Self.value(l))
        try await store.putEndUserLimit(l, audit: audit)
        await applyAndAnnounce()
        return l
    }

    /// Removes the override of `user` (the defaults apply again); `false` when there was none.
    public func remove(_ user: String, actor: String, reason: String?) async throws -> Bool {
        let now = clock.now()
        let audit = AuditEntry(
            id: IDs.make("aud", at: now), at: now, actor: actor, action: "end_users.clear", target: "end_user:\(user)",
            reason: reason, oldValue: override(user).map(Self.value))
        guard try await store.deleteEndUserLimit(user: user, audit: audit) else { return false }
        await applyAndAnnounce()
        return true
    }

    /// The limits `user` runs under: `defaults` (`end_users:`) with the override's fields on top.
    public static func effective(_ defaults: SluiceConfig.Limits?, _ o: EndUserLimit?) -> SluiceConfig.Limits {
        var l = defaults ?? SluiceConfig.Limits()
        if let o {
            if let v = o.dailyBudgetUSD { l.dailyBudgetUSD = v }
            if let v = o.monthlyBudgetUSD { l.monthlyBudgetUSD = v }
            if let v = o.rpm { l.rpm = v }
            if let v = o.tpm { l.tpm = v }
        }
        return l
    }

    /// What `user` spent this UTC day and this UTC month, from the ledger.
    public func spend(_ user: String) async throws -> (today: LedgerTotal?, month: LedgerTotal?) {
        let now = clock.now()
        func since(_ from: Date) async throws -> LedgerTotal? {
            try await store.ledgerTotals(from: from, to: now.addingTimeInterval(1), by: .user, purpose: nil).first { $0.group == user }
        }
        let day = Windows.startOfDay(now)
        let month = Windows.utc.date(from: Windows.utc.dateComponents([.year, .month], from: now)) ?? day
        return (try await since(day), try await since(month))
    }

    /// An override as JSON (the API's and the audit log's shape).
    public static func json(_ l: EndUserLimit) -> JSON {
        .object([
            "user": .string(l.user), "daily_budget_usd": l.dailyBudgetUSD.map(JSON.double) ?? .null,
            "monthly_budget_usd": l.monthlyBudgetUSD.map(JSON.double) ?? .null, "rpm": l.rpm.map(JSON.int) ?? .null,
            "tpm": l.tpm.map(JSON.int) ?? .null, "blocked": .bool(l.blocked), "reason": l.reason.map(JSON.string) ?? .null,
            "updated_at": .string(Timestamp.iso8601(l.updatedAt)), "updated_by": .string(l.actor),
        ])
    }

    static func value(_ l: EndUserLimit) -> String { json(l).jsonString }

    private func applyAndAnnounce() async {
        await reloadLogged()
        do {
            try await feed.publish(Change(topic: Self.topic))
        } catch {
            logger.warning("end-user change stored but not announced to other nodes", metadata: ["error": "\(error)"])
        }
    }
}
