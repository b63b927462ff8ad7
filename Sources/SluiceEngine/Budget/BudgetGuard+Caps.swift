import Foundation

/// Which caps a call counts against, in nesting order: purpose › team › key › end user › run.
extension BudgetGuard {
    /// The money caps of the call (daily and monthly budgets, the run's budget).
    func moneyCaps(_ ctx: CallContext, _ p: Policy, now: Date) -> [BudgetCap] {
        let day = Windows.day(now), month = Windows.month(now)
        var caps: [BudgetCap] = []
        func add(_ owner: BudgetCap.Owner, _ name: String, _ period: BudgetCap.Period, _ limit: Double?, _ scope: String) {
            guard let limit else { return }
            let window = period == .day ? day : period == .month ? month : "run"
            caps.append(BudgetCap(owner: owner, name: name, period: period, limit: limit, unit: .nanoUSD, scope: scope, window: window))
        }
        add(.purpose, ctx.purpose, .day, p.purposeCaps[ctx.purpose], "budget:purpose:\(ctx.purpose)")
        if let team = ctx.identity.team, let t = p.teams[team] {
            add(.team, team, .day, t.dailyBudgetUSD, "budget:team-day:\(team)")
            add(.team, team, .month, t.monthlyBudgetUSD, "budget:team:\(team)")
        }
        if let name = ctx.identity.keyName, let k = keyLimits(ctx, p) {
            add(.key, name, .day, k.dailyBudgetUSD, "budget:key-day:\(name)")
            add(.key, name, .month, k.monthlyBudgetUSD, "budget:key:\(name)")
        }
        if let user = ctx.user, let (u, _) = endUserLimits(user, p) {
            add(.endUser, user, .day, u.dailyBudgetUSD, "budget:user-day:\(user)")
            add(.endUser, user, .month, u.monthlyBudgetUSD, "budget:user:\(user)")
        }
        if let run = ctx.runID { add(.run, run, .run, ctx.runBudgetUSD, "budget:run:\(run)") }
        return caps
    }

    /// The per-minute caps of the call: requests (`.count`) or tokens (`.tokens`).
    func rateCaps(_ ctx: CallContext, _ p: Policy, now: Date, unit: Unit) -> [BudgetCap] {
        let minute = Windows.minute(now)
        let kind = unit == .count ? "rpm" : "tpm"
        var caps: [BudgetCap] = []
        func add(_ owner: BudgetCap.Owner, _ name: String, _ limits: SluiceConfig.Limits?) {
            guard let limit = unit == .count ? limits?.rpm : limits?.tpm else { return }
            let tag = owner == .endUser ? "user" : owner.rawValue
            caps.append(BudgetCap(
                owner: owner, name: name, period: .minute, limit: Double(limit), unit: unit, scope: "\(kind):\(tag):\(name)", window: minute))
        }
        if let team = ctx.identity.team { add(.team, team, p.teams[team]) }
        if let name = ctx.identity.keyName { add(.key, name, keyLimits(ctx, p)) }
        if let user = ctx.user, let (u, _) = endUserLimits(user, p) { add(.endUser, user, u) }
        return caps
    }
}
