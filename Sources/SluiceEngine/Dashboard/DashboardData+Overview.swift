import Foundation
import SluiceCore
import SluiceStore

extension DashboardData {
    /// The overview: spend today against each purpose's cap (from the ledger, as
    /// budgets count it), spend and calls per day for 30 days, and today's
    /// call, error and refusal rates (from the hourly rollups).
    public static func overview(
        store: any SluiceStore, config: SluiceConfig, budget: BudgetGuard?, now: Date
    ) async throws -> JSON {
        let today = Windows.startOfDay(now)
        let spentBy = try await store.spendToday(now: now)
        let daily = try await daily(store, now: now)
        var names = Set(daily.purposes).union(spentBy.keys)
        for (name, p) in config.purposes where p.dailyBudgetUSD != nil { names.insert(name) }
        var rows: [JSON] = []
        for name in names.sorted() {
            let t = daily.byPurpose[name]?.last ?? CallRollup(hour: today, purpose: name)
            let cap = config.purposes[name]?.dailyBudgetUSD
            let spend = spentBy[name] ?? 0
            rows.append([
                "purpose": .string(name), "spend_today_usd": DashNumber.json(spend, 9),
                "daily_budget_usd": cap.map(JSON.double) ?? .null,
                "budget_used_pct": cap.map { DashNumber.json($0 > 0 ? spend / $0 * 100 : nil, 1) } ?? .null,
                "breaker": .string(budget?.isTripped(purpose: name) == true ? "tripped" : "closed"),
                "calls_today": .int(t.calls), "errors_today": .int(t.errors),
                "error_rate_today": DashNumber.json(t.rate(t.errors), 4),
                "refusal_rate_today": DashNumber.json(t.rate(t.refusals), 4),
            ])
        }
        let total = daily.total()
        var out = header("overview", now: now)
        out["days"] = .array(daily.slots.map(JSON.string))
        out["purposes"] = .array(rows)
        out["spend_by_day"] = .array(daily.purposes.map { p in series(p, daily.values(p) { $0.costUSD }, places: 6) })
        out["calls_by_day"] = .array(daily.purposes.map { p in series(p, daily.values(p) { Double($0.calls) }, places: 0) })
        out["error_rate_by_day"] = .array(daily.purposes.map { p in series(p, daily.values(p) { $0.rate($0.errors) }, places: 4) })
        out["totals_30d"] = [
            "spend_usd": DashNumber.json(total.costUSD, 6), "calls": .int(total.calls), "errors": .int(total.errors),
            "error_rate": DashNumber.json(total.rate(total.errors), 4),
            "refusal_rate": DashNumber.json(total.rate(total.refusals), 4),
            "spend_today_usd": DashNumber.json(spentBy.values.reduce(0, +), 9),
        ]
        return .object(out)
    }
}
