import Foundation
import SluiceCore
import SluiceStore

/// `GET /admin/cost-summary` and `sluice costs`: totals from the ledger.
public enum CostSummary {
    /// The summary at `now`: today (UTC), the last 24 h, 7 d and 30 d; per purpose
    /// today, its 30-day daily average (the 30 UTC days before today), the ratio,
    /// its cap and breaker state, calls and tokens today; and, with `by`, the
    /// totals since `since` grouped by that dimension, with each group's latency percentiles,
    /// ordered by `sort` and cut to `limit` (see ``groups(store:by:from:to:sort:limit:namedOnly:)``).
    public static func build(
        store: any LedgerStore, config: SluiceConfig, budget: BudgetGuard?, now: Date, by: LedgerDimension? = nil,
        since: Date? = nil, sort: Sort = .cost, limit: Int = defaultLimit
    ) async throws -> JSON {
        let today = Windows.startOfDay(now)
        let end = now.addingTimeInterval(1)
        func total(_ from: Date) async throws -> Double {
            try await store.ledgerTotals(from: from, to: end, by: nil, purpose: nil).first?.costUSD ?? 0
        }
        let monthAgo = today.addingTimeInterval(-30 * 86_400)
        let todayRows = try await store.ledgerTotals(from: today, to: end, by: .purpose, purpose: nil)
        let pastRows = try await store.ledgerTotals(from: monthAgo, to: today, by: .purpose, purpose: nil)
        var names = Set(todayRows.compactMap(\.group)).union(pastRows.compactMap(\.group))
        for (name, p) in config.purposes where p.dailyBudgetUSD != nil { names.insert(name) }
        var purposes: [JSON] = []
        for name in names.sorted() {
            let t = todayRows.first { $0.group == name }
            let avg = (pastRows.first { $0.group == name }?.costUSD ?? 0) / 30
            let spent = t?.costUSD ?? 0
            let cap = config.purposes[name]?.dailyBudgetUSD
            purposes.append([
                "purpose": .string(name), "today_usd": .double(round(spent)), "avg_daily_30d_usd": .double(round(avg)),
                "ratio_vs_30d_avg": avg > 0 ? .double((spent / avg * 1000).rounded() / 1000) : .null,
                "daily_budget_usd": cap.map(JSON.double) ?? .null,
                "budget_used_pct": cap.map { .double((spent / $0 * 1000).rounded() / 10) } ?? .null,
                "breaker": .string(budget?.isTripped(purpose: name) == true ? "tripped" : "closed"),
                "overshoot_today_usd": .double(round(budget?.overshootToday(purpose: name).usd ?? 0)),
                "overshoot_calls_today": .int(budget?.overshootToday(purpose: name).calls ?? 0),
                "calls_today": .int(t?.calls ?? 0), "tokens_today": .int((t?.inputTokens ?? 0) + (t?.outputTokens ?? 0)),
                "saved_today_usd": .double(round(t?.savedUSD ?? 0)),
            ])
        }
        var out: JSONObject = [
            "as_of": .string(Timestamp.iso8601(now)), "day": .string(Windows.day(now)),
            "today_usd": .double(round(try await total(today))),
            "last_24h_usd": .double(round(try await total(now.addingTimeInterval(-86_400)))),
            "last_7d_usd": .double(round(try await total(now.addingTimeInterval(-7 * 86_400)))),
            "last_30d_usd": .double(round(try await total(now.addingTimeInterval(-30 * 86_400)))),
            "by_purpose": .array(purposes),
        ]
        if let by {
            let from = since ?? now.addingTimeInterval(-86_400)
            let (groups, total) = try await groups(store: store, by: by, from: from, to: end, sort: sort, limit: limit)
            out["by"] = .string(by.rawValue)
            out["since"] = .string(Timestamp.iso8601(from))
            out["sort"] = .string(sort.rawValue)
            out["limit"] = .int(limit)
            out["groups_total"] = .int(total)
            out["groups"] = .array(groups)
        }
        return .object(out)
    }

    /// Nine decimals: sums of float costs print cleanly.
    static func round(_ v: Double) -> Double { (v * 1e9).rounded() / 1e9 }
}
