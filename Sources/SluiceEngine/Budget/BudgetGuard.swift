import Foundation
import Logging
import SluiceCore
import SluiceProviders
import SluiceStore
import Synchronization

/// Budgets and rate limits, checked before a call and settled after it.
///
/// Caps nest: purpose › team › key › end user › run. Before a call that can cost money,
/// its worst case is reserved against every money cap that applies: the input estimated
/// from the request, plus `max_tokens` at the output price of the priciest target that
/// may answer; without `max_tokens`, the purpose's (or model's) observed p99 output
/// (``OutputHistory``), and 4,096 only before there is history. Its tokens are reserved
/// against the minute's token caps. When the call ends its record settles every
/// reservation to what was really spent. Reservations are spent from slices leased from
/// the shared pools (``QuotaLeaser``), so the caps hold across nodes while most checks
/// are a lock in memory.
///
/// A cap that cannot take a call refuses it truthfully (``BudgetGuard+Refusal``):
/// `budget_exceeded` when settled spend leaves no room for it, `budget_busy` (after a
/// short wait for calls in flight to settle) when money reserved by calls in flight fills it.
public final class BudgetGuard: Sendable {
    /// The unit of one hold.
    enum Unit: Sendable { case nanoUSD, tokens, count }

    struct Hold: Sendable {
        var reservation: QuotaReservation
        var cap: BudgetCap
    }

    /// What the guard enforces; replaced on reload.
    struct Policy: Sendable {
        var purposeCaps: [String: Double] = [:]
        var keys: [String: SluiceConfig.VirtualKey] = [:]
        var teams: [String: SluiceConfig.Limits] = [:]
        var endUsers: SluiceConfig.Limits?
    }

    let leaser: QuotaLeaser
    let clock: any WallClock
    let prices: PriceTable
    let endUsers: EndUserBoard?
    /// Where a node short of room asks the others for current figures (``QuotaLeaser/askOthers``).
    let feed: (any ChangeFeed)?
    let logger: Logger
    let policy: Mutex<Policy>
    let holds = Mutex([String: [Hold]]())
    /// The UTC day each purpose's settled spend last left no room for a call.
    let tripped = Mutex([String: String]())
    let history = Mutex(OutputHistory())
    /// Bumped on every settle: calls waiting for room retry when it moves.
    let settles = Atomic<Int>(0)
    /// Overshoot per purpose and UTC day, in nano-USD: what calls cost beyond their reservation.
    let overshoot = Mutex([String: (day: String, nano: Int64, calls: Int)]())
    /// Output tokens assumed when a request sets no `max_tokens` and its purpose has no history yet.
    static let defaultOutputTokens = 4096
    /// How long a call waits for calls in flight to free money before it is refused `budget_busy`.
    let busyWait: Duration

    /// A guard over `config`'s purpose, team, key and end-user limits.
    public init(
        config: SluiceConfig, leaser: QuotaLeaser, clock: any WallClock, logger: Logger, endUsers: EndUserBoard? = nil,
        feed: (any ChangeFeed)? = nil, busyWait: Duration = .seconds(2)
    ) {
        self.feed = feed
        self.leaser = leaser
        self.clock = clock
        self.prices = PriceTable(overrides: config.pricing)
        self.endUsers = endUsers
        self.logger = logger
        self.busyWait = busyWait
        policy = Mutex(Self.policy(config))
    }

    static func policy(_ config: SluiceConfig) -> Policy {
        var p = Policy()
        for (name, purpose) in config.purposes { if let c = purpose.dailyBudgetUSD { p.purposeCaps[name] = c } }
        for key in config.auth.keys { p.keys[key.name] = key }
        p.teams = config.teams.filter { !$0.value.isEmpty }
        p.endUsers = config.endUsers.flatMap { $0.isEmpty ? nil : $0 }
        return p
    }

    /// Each purpose's daily cap in USD.
    var dailyCaps: [String: Double] { policy.withLock { $0.purposeCaps } }

    /// Takes the purposes', teams' and end users' caps from a reloaded config.
    public func replaceDailyCaps(_ config: SluiceConfig) {
        let fresh = Self.policy(config)
        policy.withLock { $0 = fresh }
        // A changed cap is judged afresh: the next refusal trips the breaker again if it must.
        tripped.withLock { $0.removeAll() }
    }

    /// Whether any limit could apply to this call (so the hot path skips everything otherwise).
    func applies(_ ctx: CallContext) -> Bool {
        if ctx.runBudgetUSD != nil || ctx.runMaxCalls != nil { return true }
        let p = policy.withLock { $0 }
        if p.purposeCaps[ctx.purpose] != nil { return true }
        if let team = ctx.identity.team, p.teams[team] != nil { return true }
        if ctx.user != nil, p.endUsers != nil || endUsers?.isEmpty == false { return true }
        guard let key = keyLimits(ctx, p) else { return false }
        return !key.isEmpty
    }

    /// The caller's key limits: a config key's from the config, a runtime key's from its identity.
    func keyLimits(_ ctx: CallContext, _ p: Policy) -> SluiceConfig.Limits? {
        guard let name = ctx.identity.keyName else { return nil }
        if let k = p.keys[name] {
            return SluiceConfig.Limits(dailyBudgetUSD: k.dailyBudgetUSD, monthlyBudgetUSD: k.monthlyBudgetUSD, rpm: k.rpm, tpm: k.tpm)
        }
        return ctx.identity.limits.map {
            SluiceConfig.Limits(dailyBudgetUSD: $0.dailyBudgetUSD, monthlyBudgetUSD: $0.monthlyBudgetUSD, rpm: $0.rpm, tpm: $0.tpm)
        }
    }

    /// The end user's limits: the `end_users:` defaults with the operator's override on top.
    func endUserLimits(_ user: String, _ p: Policy) -> (limits: SluiceConfig.Limits, override: EndUserLimit?)? {
        let o = endUsers?.override(user)
        guard p.endUsers != nil || o != nil else { return nil }
        return (EndUserBoard.effective(p.endUsers, o), o)
    }

    /// Output tokens to reserve for a call without `max_tokens`: the observed p99 of its
    /// purpose or model (at least 16), or 4,096 before there is history.
    public func expectedOutputTokens(purpose: String, model: String) -> Int {
        observedOutputTokens(purpose: purpose, model: model) ?? Self.defaultOutputTokens
    }

    /// The observed p99 output of the purpose or model (at least 16); `nil` before there is history.
    func observedOutputTokens(purpose: String, model: String) -> Int? {
        history.withLock { $0.p99(purpose: purpose, model: model) }.map { max(16, $0) }
    }

    /// Blocked end users, requests per minute and the run's call limit: every call counts, cache hits included.
    func admit(_ ctx: CallContext) async throws(SluiceError) {
        let now = clock.now()
        let p = policy.withLock { $0 }
        if let user = ctx.user, let (_, o) = endUserLimits(user, p), let o, o.blocked {
            throw SluiceError(
                .forbidden,
                "End user '\(user)' is blocked\(o.reason.map { ": \($0)" } ?? "") (by \(o.actor) at \(Timestamp.iso8601(o.updatedAt))). "
                    + "Unblock with PUT /admin/end-users/\(user) {\"blocked\": false}.",
                details: ["cap": .string(BudgetCap.Owner.endUser.rawValue)])
        }
        for cap in rateCaps(ctx, p, now: now, unit: .count) {
            try await reserve(ctx, cap, amount: 1, now: now)
        }
        if let run = ctx.runID, let max = ctx.runMaxCalls {
            let cap = BudgetCap(owner: .run, name: run, period: .run, limit: Double(max), unit: .count, scope: "calls:run:\(run)", window: "run")
            guard try await take(ctx, cap, amount: 1) else {
                throw SluiceError(.runCallLimit, "Run '\(run)' has made its \(max) calls (X-Sluice-Run-Max-Calls); start a new run or raise the limit.")
            }
        }
    }

    /// Reserves the call's worst-case cost (at batch prices when `batch`) and tokens against every
    /// cap that applies; throws the refusal of the first cap that cannot take it.
    /// `blanket`: the output is the 4,096-token default of a purpose without history, not a
    /// figure the client set or Sluice observed; such a call may take what is left of a cap
    /// instead of being refused for money it almost surely will not spend.
    func reserveSpend(
        _ ctx: CallContext, model: String, targets: [ResolvedTarget], laterStages: [[ResolvedTarget]] = [], inputTokens: Int,
        outputTokens: Int, batch: Bool = false, blanket: Bool = false
    ) async throws(SluiceError) {
        let now = clock.now()
        let p = policy.withLock { $0 }
        let money = moneyCaps(ctx, p, now: now)
        if !money.isEmpty {
            // A cascade may answer at every stage: the worst case is the sum of each stage's priciest target.
            func worst(_ output: Int) throws(SluiceError) -> Int64 {
                var total = 0.0
                for stage in [targets] + laterStages {
                    var usd = 0.0
                    for t in stage {
                        guard let price = prices.price(target: t.model, answered: nil) else {
                            throw SluiceError.invalidRequest(
                                "Purpose '\(ctx.purpose)' has a spending limit, but target '\(t.provider.name)/\(t.model)' of model '\(model)' has no price; add it under pricing:.")
                        }
                        usd = max(usd, price.cost(of: Usage(inputTokens: inputTokens, outputTokens: output), batch: batch))
                    }
                    total += usd
                }
                return Int64((total * 1e9).rounded(.up))
            }
            var nano = try worst(outputTokens)
            var guess = blanket
            // What is left of a cap must at least pay for the input and a short answer to be taken.
            let floor = try worst(16)
            // The breaker trips when what is left cannot pay for a typical call of the purpose (this
            // one, unless it asks for more output than the purpose's answers run to).
            let typical = min(nano, try worst(expectedOutputTokens(purpose: ctx.purpose, model: model)))
            for cap in money {
                while try await !reserve(ctx, cap, amount: nano, now: now, partial: guess ? (model, floor) : nil, floor: floor, trip: typical) {
                    // History arrived while the call waited: the blanket guess gives way to the p99.
                    let observed = observedOutputTokens(purpose: ctx.purpose, model: model) ?? Self.defaultOutputTokens
                    nano = try worst(max(1, outputTokens / Self.defaultOutputTokens) * observed)
                    guess = false
                }
            }
        }
        let tokens = Int64(inputTokens + outputTokens)
        for cap in rateCaps(ctx, p, now: now, unit: .tokens) { try await reserve(ctx, cap, amount: tokens, now: now) }
    }

    /// Settles every reservation of the call with what its record says was spent, and learns its output size.
    func settle(_ record: CallRecord) {
        if record.error == nil, record.cache != "hit", record.cache != "semantic_hit", record.usage.outputTokens > 0 {
            let out = record.usage.outputTokens
            history.withLock { $0.add(purpose: record.purpose, model: record.model, outputTokens: out) }
        }
        guard let list = holds.withLock({ $0.removeValue(forKey: record.callID) }) else { return }
        for h in list {
            let actual: Int64
            switch h.cap.unit {
            case .nanoUSD: actual = Int64(((record.costUSD ?? 0) * 1e9).rounded(.up))
            case .tokens: actual = Int64(record.cache == "hit" || record.cache == "semantic_hit" ? 0 : record.usage.inputTokens + record.usage.outputTokens)
            case .count: actual = 1
            }
            if h.cap.unit == .nanoUSD, h.cap.owner == .purpose, actual > h.reservation.amount {
                noteOvershoot(h.cap, by: actual - h.reservation.amount, call: record.callID)
            }
            leaser.settle(h.reservation, actual: actual)
        }
        settles.add(1, ordering: .releasing)
    }

    /// Whether the purpose's settled spend today left no room for a call.
    public func isTripped(purpose: String) -> Bool {
        tripped.withLock { $0[purpose] } == Windows.day(clock.now())
    }

    /// The daily cap of a purpose.
    public func dailyCap(purpose: String) -> Double? { dailyCaps[purpose] }

    /// What calls of `purpose` cost today beyond their reservations (USD), and how many did.
    public func overshootToday(purpose: String) -> (usd: Double, calls: Int) {
        let day = Windows.day(clock.now())
        guard let o = overshoot.withLock({ $0[purpose] }), o.day == day else { return (0, 0) }
        return (Double(o.nano) / 1e9, o.calls)
    }

    /// Reserves `amount` against one pool; `false` when the pool has no room (the store being away admits).
    func take(_ ctx: CallContext, _ cap: BudgetCap, amount: Int64) async throws(SluiceError) -> Bool {
        let units = cap.units
        do {
            guard
                let r = try await leaser.reserve(
                    scope: cap.scope, window: cap.window, cap: units, amount: amount, slice: max(amount, units / 16))
            else { return false }
            holds.withLock { $0[ctx.callID, default: []].append(Hold(reservation: r, cap: cap)) }
            return true
        } catch {
            // The shared pool is unreachable: serve rather than refuse, and say so.
            logger.warning("quota store unreachable; call admitted without a reservation", metadata: ["scope": "\(cap.scope)", "error": "\(error)"])
            return true
        }
    }

    static func nano(_ usd: Double) -> Int64 { Int64((usd * 1e9).rounded(.down)) }
}
