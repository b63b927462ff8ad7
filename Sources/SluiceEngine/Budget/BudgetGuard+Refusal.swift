import Foundation
import SluiceCore
import SluiceStore

/// Truthful refusals: a cap that cannot take a call says whether settled spend used it
/// up (`budget_exceeded`, which trips the purpose's breaker) or calls in flight hold it for
/// now (`budget_busy`, after waiting up to ``BudgetGuard/busyWait`` for them to settle),
/// with the real figures.
extension BudgetGuard {
    /// Reserves `amount` against `cap`, or throws its refusal. With `partial` (the model asked for),
    /// a call whose amount is a blanket guess may reserve what is left instead, while its purpose
    /// and model still have no output history; once they do, it returns `false` for the caller to
    /// estimate again from the observed p99 (the guess no longer stands).
    @discardableResult
    func reserve(
        _ ctx: CallContext, _ cap: BudgetCap, amount: Int64, now: Date, partial guess: (model: String, floor: Int64)? = nil,
        floor minimum: Int64 = 0, trip: Int64 = 0
    ) async throws(SluiceError) -> Bool {
        let purpose = ctx.purpose, model = guess?.model, floor = guess?.floor ?? minimum
        var partial: Bool { model.map { observedOutputTokens(purpose: purpose, model: $0) == nil } ?? false }
        if try await take(ctx, cap, amount: amount) { return true }
        if cap.unit != .nanoUSD { throw rateRefusal(cap, amount: amount, now: now) }
        if cap.owner == .run { throw exceeded(ctx, cap, amount: amount, spent: 0, now: now) }
        if model != nil && !partial { return false }
        let deadline = ContinuousClock.now + busyWait
        var seen = settles.load(ordering: .acquiring)
        var lastTry = ContinuousClock.now
        var lastRead = ContinuousClock.now - .seconds(1)
        while true {
            if model != nil && !partial { return false }
            // Other nodes give back idle slices and report their use, so the figures below are current.
            if let feed { await leaser.askOthers(scope: cap.scope, window: cap.window, feed: feed) }
            let standing = await self.standing(cap)
            lastRead = ContinuousClock.now
            let spent = standing?.spent ?? 0
            if spent + amount > cap.units {
                // Nothing in flight and money left: a blanket guess takes what is left (the call
                // is then settled at its real cost, and any excess reported as overshoot).
                let left = cap.units - spent - (standing?.openReserved ?? 0)
                if partial, left >= max(1, floor), spent + floor <= cap.units, try await take(ctx, cap, amount: left) { return true }
                if spent + floor > cap.units || !partial {
                    throw exceeded(ctx, cap, amount: amount, spent: spent, now: now, trip: trip)
                }
            }
            // Room will come back as calls in flight settle: wait for one (here, or on another node).
            while ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(20))
                let settled = settles.load(ordering: .acquiring)
                if settled != seen || ContinuousClock.now - lastTry >= .milliseconds(250) {
                    seen = settled
                    break
                }
            }
            lastTry = ContinuousClock.now
            if try await take(ctx, cap, amount: amount) { return true }
            // The figures are read again at most every 250 ms (and at the deadline), not on every settle.
            while ContinuousClock.now - lastRead < .milliseconds(250) && ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(20))
                let settled = settles.load(ordering: .acquiring)
                if settled != seen {
                    seen = settled
                    if try await take(ctx, cap, amount: amount) { return true }
                }
            }
            if ContinuousClock.now >= deadline {
                let last = await self.standing(cap)
                let spentNow = last?.spent ?? spent
                if spentNow + amount > cap.units && (!partial || spentNow + floor > cap.units) {
                    throw exceeded(ctx, cap, amount: amount, spent: spentNow, now: now, trip: trip)
                }
                if partial, let last, cap.units - spentNow - last.openReserved >= max(1, floor),
                    try await take(ctx, cap, amount: cap.units - spentNow - last.openReserved)
                {
                    return true
                }
                // The calls that held the money may have ended while the figures were read.
                if callsInFlight(cap) == 0, try await take(ctx, cap, amount: amount) { return true }
                throw busy(cap, amount: amount, standing: last)
            }
        }
    }

    /// The pool across every node, or `nil` when the store cannot say.
    func standing(_ cap: BudgetCap) async -> QuotaUsage? {
        do { return try await leaser.standing(scope: cap.scope, window: cap.window) } catch {
            logger.warning("could not read the quota pool for a refusal", metadata: ["scope": "\(cap.scope)", "error": "\(error)"])
            return nil
        }
    }

    /// Calls of this node holding a reservation on `cap`'s pool.
    func callsInFlight(_ cap: BudgetCap) -> Int {
        holds.withLock { h in h.values.reduce(0) { $0 + ($1.contains { $0.cap.scope == cap.scope && $0.cap.window == cap.window } ? 1 : 0) } }
    }

    /// `trip`: what a typical call of the purpose costs; the purpose's breaker trips only when
    /// settled spend leaves less than that (a call refused for its own large `max_tokens` trips nothing).
    func exceeded(_ ctx: CallContext, _ cap: BudgetCap, amount: Int64, spent: Int64, now: Date, trip: Int64 = 0) -> SluiceError {
        if cap.owner == .run {
            return SluiceError(
                .runBudgetExceeded,
                "Run '\(cap.name)' would cross its budget of $\(Decimals.format(cap.limit, places: 4, trim: true)) (X-Sluice-Run-Budget-Usd) with this call.",
                details: cap.details(spent: nil, reserved: nil, inFlight: nil, amount: amount))
        }
        if cap.owner == .purpose, spent + max(1, trip) > cap.units { tripped.withLock { $0[cap.name] = cap.window } }
        let wait = cap.secondsToReset(now)
        var resume = ""
        if let wait, cap.period == .day {
            resume = " Calls resume at 00:00 UTC, in \(wait / 3600)h \((wait % 3600) / 60)m."
        } else if cap.period == .month {
            resume = " Calls resume on the 1st at 00:00 UTC."
        }
        let reached = spent >= cap.units
        let figures = reached
            ? "\(BudgetCap.usd(units: spent)) is spent"
            : "\(BudgetCap.usd(units: spent)) is spent and this call may cost up to \(BudgetCap.usd(units: amount)), more than the \(BudgetCap.usd(units: cap.units - spent)) left"
        let window = cap.period == .day ? " (UTC day \(cap.window))" : cap.period == .month ? " (\(cap.window))" : ""
        let others = cap.owner == .endUser ? " Other end users are not affected." : ""
        return SluiceError(
            .budgetExceeded,
            "\(cap.label) has reached its \(cap.describedLimit)\(window): \(figures).\(others)\(resume) Raise \(cap.setting) to allow more.",
            details: cap.details(spent: spent, reserved: nil, inFlight: nil, amount: amount), retryAfterSeconds: wait)
    }

    func busy(_ cap: BudgetCap, amount: Int64, standing: QuotaUsage?) -> SluiceError {
        let spent = standing?.spent ?? 0
        let reserved = standing?.openReserved ?? 0
        let idle = standing.map { max(0, $0.allocated - $0.spent - $0.openReserved) } ?? 0
        let n = callsInFlight(cap)
        return SluiceError(
            .budgetBusy,
            "\(cap.label)'s \(cap.describedLimit) is busy: \(BudgetCap.usd(units: reserved)) of \(BudgetCap.usd(units: cap.units)) is reserved by "
                + "\(n) call\(n == 1 ? "" : "s") in flight\(standing.map { $0.openReserved > 0 && n == 0 ? " on other nodes" : "" } ?? ""), "
                + "\(idle > 0 ? "\(BudgetCap.usd(units: idle)) is leased by nodes but idle, " : "")"
                + "and \(BudgetCap.usd(units: spent)) is spent; this call may cost up to \(BudgetCap.usd(units: amount)). "
                + "Retry in 1 s: the money comes back as those calls end. Setting max_tokens reserves less.",
            details: cap.details(spent: spent, reserved: reserved, inFlight: n, amount: amount, idle: idle), retryAfterSeconds: 1)
    }

    func rateRefusal(_ cap: BudgetCap, amount: Int64, now: Date) -> SluiceError {
        let what = cap.unit == .count ? "" : " (this call may use \(amount))"
        return SluiceError(
            .rateLimited, "\(cap.label) is over its \(cap.describedLimit)\(what); retry after the minute turns.",
            details: cap.details(spent: nil, reserved: nil, inFlight: nil, amount: amount),
            retryAfterSeconds: Windows.secondsToNextMinute(now))
    }

    /// Notes a call that cost more than its purpose reservation (it ran past the p99 it was reserved at).
    func noteOvershoot(_ cap: BudgetCap, by nano: Int64, call: String) {
        let day = Windows.day(clock.now())
        overshoot.withLock { o in
            var entry = o[cap.name].flatMap { $0.day == day ? $0 : nil } ?? (day: day, nano: 0, calls: 0)
            entry.nano += nano
            entry.calls += 1
            o[cap.name] = entry
        }
        logger.notice(
            "call cost more than it reserved; the excess is charged to the budget",
            metadata: ["purpose": "\(cap.name)", "call_id": "\(call)", "overshoot_usd": "\(Double(nano) / 1e9)"])
    }
}
