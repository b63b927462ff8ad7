import Foundation
import Logging
import SluiceCore
import SluiceProviders
import Synchronization

/// Budgets and rate limits, checked before a call and settled after it.
///
/// Before a call that can cost money, its worst case (input estimated from the
/// request, plus `max_tokens` — 4096 when unset — at the output price, of the
/// priciest target that may answer) is reserved against the purpose's UTC day,
/// the key's UTC month and the run; its tokens against the key's minute. A
/// reservation that would cross a cap refuses the call with a 429. When the call
/// ends its record settles every reservation to what was really spent. Reservations
/// are spent from slices leased from the shared pools (``QuotaLeaser``), so the caps
/// hold across nodes while most checks are a lock in memory.
public final class BudgetGuard: Sendable {
    /// The unit of one hold.
    enum Unit: Sendable { case nanoUSD, tokens, count }

    struct Hold: Sendable {
        var reservation: QuotaReservation
        var unit: Unit
    }

    let leaser: QuotaLeaser
    let clock: any WallClock
    let prices: PriceTable
    private let caps: Mutex<[String: Double]>
    /// Each purpose's daily cap in USD (replaced on reload).
    var dailyCaps: [String: Double] { caps.withLock { $0 } }
    let keys: [String: SluiceConfig.VirtualKey]
    let logger: Logger
    private let holds = Mutex([String: [Hold]]())
    private let tripped = Mutex([String: String]())
    /// Output tokens assumed when a request sets no `max_tokens`.
    static let defaultOutputTokens = 4096

    /// A guard over `config`'s purpose and key limits.
    public init(config: SluiceConfig, leaser: QuotaLeaser, clock: any WallClock, logger: Logger) {
        self.leaser = leaser
        self.clock = clock
        self.prices = PriceTable(overrides: config.pricing)
        caps = Mutex(Self.dailyCaps(config))
        var k: [String: SluiceConfig.VirtualKey] = [:]
        for key in config.auth.keys { k[key.name] = key }
        keys = k
        self.logger = logger
    }

    static func dailyCaps(_ config: SluiceConfig) -> [String: Double] {
        var caps: [String: Double] = [:]
        for (name, p) in config.purposes { if let c = p.dailyBudgetUSD { caps[name] = c } }
        return caps
    }

    /// Takes the purposes' daily caps from a reloaded config.
    public func replaceDailyCaps(_ config: SluiceConfig) {
        let fresh = Self.dailyCaps(config)
        caps.withLock { $0 = fresh }
    }

    /// Whether any limit could apply to this call (so the hot path skips everything otherwise).
    func applies(_ ctx: CallContext) -> Bool {
        if dailyCaps[ctx.purpose] != nil || ctx.runBudgetUSD != nil || ctx.runMaxCalls != nil { return true }
        guard let key = limits(ctx) else { return false }
        return key.dailyBudgetUSD != nil || key.monthlyBudgetUSD != nil || key.rpm != nil || key.tpm != nil
    }

    /// The caller's key limits: a config key's from the config, a runtime key's from its identity.
    func limits(_ ctx: CallContext) -> KeyLimits? {
        guard let name = ctx.identity.keyName else { return nil }
        if let k = keys[name] { return KeyLimits(monthlyBudgetUSD: k.monthlyBudgetUSD, rpm: k.rpm, tpm: k.tpm) }
        return ctx.identity.limits
    }

    /// Requests per minute and the run's call limit: every call counts, cache hits included.
    func admit(_ ctx: CallContext) async throws(SluiceError) {
        let now = clock.now()
        if let name = ctx.identity.keyName, let rpm = limits(ctx)?.rpm {
            guard try await take(ctx, "rpm:key:\(name)", Windows.minute(now), cap: Int64(rpm), amount: 1, unit: .count) else {
                throw SluiceError(
                    .rateLimited, "Key '\(name)' is over its limit of \(rpm) requests per minute; retry after the minute turns.",
                    retryAfterSeconds: Windows.secondsToNextMinute(now))
            }
        }
        if let run = ctx.runID, let max = ctx.runMaxCalls {
            guard try await take(ctx, "calls:run:\(run)", "run", cap: Int64(max), amount: 1, unit: .count) else {
                throw SluiceError(.runCallLimit, "Run '\(run)' has made its \(max) calls (X-Sluice-Run-Max-Calls); start a new run or raise the limit.")
            }
        }
    }

    /// Reserves the call's worst-case cost (at batch prices when `batch`) and tokens; throws the 429 of the first cap it would cross.
    func reserveSpend(
        _ ctx: CallContext, model: String, targets: [ResolvedTarget], inputTokens: Int, outputTokens: Int, batch: Bool = false
    ) async throws(SluiceError) {
        let now = clock.now()
        let name = ctx.identity.keyName
        let key = limits(ctx)
        let daily = dailyCaps[ctx.purpose]
        if daily != nil || key?.dailyBudgetUSD != nil || key?.monthlyBudgetUSD != nil || ctx.runBudgetUSD != nil {
            var worst = 0.0
            for t in targets {
                guard let p = prices.price(target: t.model, answered: nil) else {
                    throw SluiceError.invalidRequest(
                        "Purpose '\(ctx.purpose)' has a spending limit, but target '\(t.provider.name)/\(t.model)' of model '\(model)' has no price; add it under pricing:.")
                }
                worst = max(worst, p.cost(of: Usage(inputTokens: inputTokens, outputTokens: outputTokens), batch: batch))
            }
            let nano = Int64((worst * 1e9).rounded(.up))
            if let cap = daily {
                let day = Windows.day(now)
                guard try await take(ctx, "budget:purpose:\(ctx.purpose)", day, cap: Self.nano(cap), amount: nano, unit: .nanoUSD) else {
                    tripped.withLock { $0[ctx.purpose] = day }
                    let wait = Windows.secondsToNextDay(now)
                    throw SluiceError(
                        .budgetExceeded,
                        "Purpose '\(ctx.purpose)' has reached its daily budget of $\(Decimals.format(cap, places: 2, trim: false)) (UTC day \(day)); "
                            + "calls resume at 00:00 UTC, in \(wait / 3600)h \((wait % 3600) / 60)m. Raise purposes.\(ctx.purpose).daily_budget_usd to allow more.",
                        retryAfterSeconds: wait)
                }
            }
            if let name, let cap = key?.dailyBudgetUSD {
                guard try await take(ctx, "budget:key-day:\(name)", Windows.day(now), cap: Self.nano(cap), amount: nano, unit: .nanoUSD) else {
                    throw SluiceError(
                        .budgetExceeded,
                        "Key '\(name)' has reached its daily budget of $\(Decimals.format(cap, places: 2, trim: false)); calls resume at 00:00 UTC.",
                        retryAfterSeconds: Windows.secondsToNextDay(now))
                }
            }
            if let name, let cap = key?.monthlyBudgetUSD {
                guard try await take(ctx, "budget:key:\(name)", Windows.month(now), cap: Self.nano(cap), amount: nano, unit: .nanoUSD) else {
                    throw SluiceError(
                        .budgetExceeded, "Key '\(name)' has reached its monthly budget of $\(Decimals.format(cap, places: 2, trim: false)).",
                        retryAfterSeconds: Windows.secondsToNextMonth(now))
                }
            }
            if let run = ctx.runID, let cap = ctx.runBudgetUSD {
                guard try await take(ctx, "budget:run:\(run)", "run", cap: Self.nano(cap), amount: nano, unit: .nanoUSD) else {
                    throw SluiceError(
                        .runBudgetExceeded,
                        "Run '\(run)' would cross its budget of $\(Decimals.format(cap, places: 4, trim: true)) (X-Sluice-Run-Budget-Usd) with this call.")
                }
            }
        }
        if let name, let tpm = key?.tpm {
            let tokens = Int64(inputTokens + outputTokens)
            guard try await take(ctx, "tpm:key:\(name)", Windows.minute(now), cap: Int64(tpm), amount: tokens, unit: .tokens) else {
                throw SluiceError(
                    .rateLimited, "Key '\(name)' is over its limit of \(tpm) tokens per minute (this call may use \(tokens)).",
                    retryAfterSeconds: Windows.secondsToNextMinute(now))
            }
        }
    }

    /// Settles every reservation of the call with what its record says was spent.
    func settle(_ record: CallRecord) {
        guard let list = holds.withLock({ $0.removeValue(forKey: record.callID) }) else { return }
        for h in list {
            let actual: Int64
            switch h.unit {
            case .nanoUSD: actual = Int64(((record.costUSD ?? 0) * 1e9).rounded(.up))
            case .tokens: actual = Int64(record.cache == "hit" || record.cache == "semantic_hit" ? 0 : record.usage.inputTokens + record.usage.outputTokens)
            case .count: actual = 1
            }
            leaser.settle(h.reservation, actual: actual)
        }
    }

    /// Whether the purpose's daily budget refused a call today.
    public func isTripped(purpose: String) -> Bool {
        tripped.withLock { $0[purpose] } == Windows.day(clock.now())
    }

    /// The daily cap of a purpose.
    public func dailyCap(purpose: String) -> Double? { dailyCaps[purpose] }

    private func take(_ ctx: CallContext, _ scope: String, _ window: String, cap: Int64, amount: Int64, unit: Unit) async throws(SluiceError) -> Bool {
        do {
            guard let r = try await leaser.reserve(scope: scope, window: window, cap: cap, amount: amount, slice: max(amount, cap / 16)) else {
                return false
            }
            holds.withLock { $0[ctx.callID, default: []].append(Hold(reservation: r, unit: unit)) }
            return true
        } catch {
            // The shared pool is unreachable: serve rather than refuse, and say so.
            logger.warning("quota store unreachable; call admitted without a reservation", metadata: ["scope": "\(scope)", "error": "\(error)"])
            return true
        }
    }

    static func nano(_ usd: Double) -> Int64 { Int64((usd * 1e9).rounded(.down)) }
}
