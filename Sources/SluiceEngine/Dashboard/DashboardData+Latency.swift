import Foundation
import SluiceCore
import SluiceStore

extension DashboardData {
    /// The quantiles the latency page shows.
    static let quantiles: [(String, Double)] = [("p50", 0.5), ("p95", 0.95), ("p99", 0.99)]

    /// Latency per purpose: p50/p95/p99 over the last 24 h, per hour for 48 h
    /// and per day for 30 days, estimated from the rollups' latency histograms.
    public static func latency(store: any SluiceStore, now: Date) async throws -> JSON {
        let daily = try await daily(store, now: now)
        let hourly = try await hourly(store, now: now)
        var purposes: [JSON] = []
        for name in Set(daily.purposes).union(hourly.purposes).sorted() {
            var last24 = CallRollup(hour: now, purpose: name)
            for r in (hourly.byPurpose[name] ?? []).suffix(24) { last24.add(r) }
            var o: JSONObject = ["purpose": .string(name), "calls_24h": .int(last24.calls)]
            for (label, q) in quantiles {
                o["\(label)_24h_ms"] = DashNumber.json(last24.latencyQuantile(q), 1)
                o["hourly_\(label)_ms"] = DashNumber.array(hourly.values(name) { $0.latencyQuantile(q) }, 1)
                o["daily_\(label)_ms"] = DashNumber.array(daily.values(name) { $0.latencyQuantile(q) }, 1)
            }
            purposes.append(.object(o))
        }
        var out = header("latency", now: now)
        out["days"] = .array(daily.slots.map(JSON.string))
        out["hours"] = .array(hourly.slots.map(JSON.string))
        out["purposes"] = .array(purposes)
        return .object(out)
    }

    /// The cache page: hits, hit rate and savings per purpose over 30 days, and per day.
    public static func cache(store: any SluiceStore, now: Date) async throws -> JSON {
        let daily = try await daily(store, now: now)
        var purposes: [JSON] = []
        for name in daily.purposes {
            let t = daily.total(name)
            purposes.append([
                "purpose": .string(name), "calls_30d": .int(t.calls), "hits_30d": .int(t.cacheHits),
                "hit_rate_30d": DashNumber.json(t.rate(t.cacheHits), 4), "saved_30d_usd": DashNumber.json(t.savedUSD, 6),
                "cached_tokens_30d": .int(t.cachedTokens),
            ])
        }
        let total = daily.total()
        var out = header("cache", now: now)
        out["days"] = .array(daily.slots.map(JSON.string))
        out["purposes"] = .array(purposes)
        out["hit_rate_by_day"] = .array(daily.purposes.map { p in series(p, daily.values(p) { $0.rate($0.cacheHits) }, places: 4) })
        out["saved_by_day"] = .array(daily.purposes.map { p in series(p, daily.values(p) { $0.savedUSD }, places: 6) })
        out["totals_30d"] = [
            "calls": .int(total.calls), "hits": .int(total.cacheHits), "hit_rate": DashNumber.json(total.rate(total.cacheHits), 4),
            "saved_usd": DashNumber.json(total.savedUSD, 6),
        ]
        return .object(out)
    }
}
