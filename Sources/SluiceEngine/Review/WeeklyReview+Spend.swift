import Foundation
import SluiceCore
import SluiceStore

extension WeeklyReview {
    /// Spend, tokens, calls, errors and latency per purpose in three windows: this period, the
    /// previous one of equal length, and the 30 days ending now scaled to the period's length.
    struct Spend {
        var totals: JSON
        var purposes: [JSON]
        var movers: JSON

        /// One window's figures of one purpose (or of everything).
        struct Figures {
            var costUSD = 0.0
            var inputTokens = 0.0
            var outputTokens = 0.0
            var calls = 0.0
            var errors = 0.0
            var latency: GroupLatency?

            var errorRate: Double? { calls > 0 ? errors / calls : nil }

            func scaled(_ f: Double) -> Figures {
                Figures(costUSD: costUSD * f, inputTokens: inputTokens * f, outputTokens: outputTokens * f, calls: calls * f, errors: errors * f, latency: latency)
            }

            var json: JSON {
                func n(_ v: Double) -> JSON { .double((v * 1e6).rounded() / 1e6) }
                return [
                    "cost_usd": n(costUSD), "input_tokens": n(inputTokens), "output_tokens": n(outputTokens),
                    "tokens": n(inputTokens + outputTokens), "calls": n(calls), "errors": n(errors),
                    "error_rate": errorRate.map(JSON.double) ?? .null,
                    "p50_ms": latency.map { .double($0.p50Ms) } ?? .null, "p95_ms": latency.map { .double($0.p95Ms) } ?? .null,
                    "p99_ms": latency.map { .double($0.p99Ms) } ?? .null,
                ]
            }
        }

        static func build(
            store: any SluiceStore, now: Date, from: Date, previousFrom: Date, monthFrom: Date, since: TimeInterval
        ) async throws -> Spend {
            let windows = [(from, now), (previousFrom, from), (monthFrom, now)]
            var byPurpose: [String: [Figures]] = [:]
            var totals = [Figures](repeating: Figures(), count: 3)
            for (i, (a, b)) in windows.enumerated() {
                for t in try await store.ledgerTotals(from: a, to: b, by: .purpose, purpose: nil) {
                    let name = t.group ?? "default"
                    var f = byPurpose[name] ?? Array(repeating: Figures(), count: 3)
                    f[i].costUSD += t.costUSD
                    f[i].inputTokens += Double(t.inputTokens)
                    f[i].outputTokens += Double(t.outputTokens)
                    byPurpose[name] = f
                }
                for l in try await store.latencyPercentiles(from: a, to: b, by: .purpose) {
                    let name = l.group ?? "default"
                    var f = byPurpose[name] ?? Array(repeating: Figures(), count: 3)
                    f[i].latency = l
                    byPurpose[name] = f
                }
            }
            for name in byPurpose.keys {
                for (i, (a, b)) in windows.enumerated() {
                    let c = try await store.callCounts(from: a, to: b, purpose: name)
                    byPurpose[name]?[i].calls = Double(c.calls)
                    byPurpose[name]?[i].errors = Double(c.errors)
                }
            }
            let scale = since / (30 * 86_400)
            for (_, f) in byPurpose {
                for i in 0..<3 {
                    totals[i].costUSD += f[i].costUSD
                    totals[i].inputTokens += f[i].inputTokens
                    totals[i].outputTokens += f[i].outputTokens
                    totals[i].calls += f[i].calls
                    totals[i].errors += f[i].errors
                }
            }
            func change(_ cur: Double, _ prev: Double) -> JSON { prev > 0 ? .double(((cur / prev) * 1000).rounded() / 1000) : .null }
            var rows: [(name: String, delta: Double, json: JSON)] = []
            for (name, f) in byPurpose {
                let avg = f[2].scaled(scale)
                let delta = f[0].costUSD - f[1].costUSD
                let q = ReviewText.q(name)
                rows.append((name, delta, [
                    "purpose": .string(name), "current": f[0].json, "previous": f[1].json, "avg_30d": avg.json,
                    "cost_change_usd": .double((delta * 1e6).rounded() / 1e6), "cost_ratio": change(f[0].costUSD, f[1].costUSD),
                    "cost_ratio_vs_30d_avg": change(f[0].costUSD, avg.costUSD),
                    "tokens_change": .double(f[0].inputTokens + f[0].outputTokens - f[1].inputTokens - f[1].outputTokens),
                    "links": [
                        "spend": "/admin/cost-summary", "dashboard": "/", "latency": "/latency",
                        "calls": .string("/calls?purpose=\(q)"), "errors": .string("/calls?purpose=\(q)&status=error"),
                    ],
                ]))
            }
            rows.sort { abs($0.delta) != abs($1.delta) ? abs($0.delta) > abs($1.delta) : $0.name < $1.name }
            let movers = rows.filter { $0.delta != 0 }.prefix(5).map { r -> JSON in
                let f = byPurpose[r.name] ?? []
                return [
                    "purpose": .string(r.name), "current_usd": r.json["current"]?["cost_usd"] ?? .null,
                    "previous_usd": r.json["previous"]?["cost_usd"] ?? .null, "change_usd": r.json["cost_change_usd"] ?? .null,
                    "ratio": r.json["cost_ratio"] ?? .null, "avg_30d_usd": r.json["avg_30d"]?["cost_usd"] ?? .null,
                    "tokens_current": .double(f.isEmpty ? 0 : f[0].inputTokens + f[0].outputTokens),
                    "tokens_previous": .double(f.isEmpty ? 0 : f[1].inputTokens + f[1].outputTokens),
                    "links": ["spend": "/admin/cost-summary", "dashboard": "/"],
                ]
            }
            return Spend(
                totals: ["current": totals[0].json, "previous": totals[1].json, "avg_30d": totals[2].scaled(scale).json,
                         "note": "latency percentiles are per purpose; see purposes[]",
                         "links": ["spend": "/admin/cost-summary", "dashboard": "/", "latency": "/latency"]],
                purposes: rows.map(\.json), movers: .array(Array(movers)))
        }

    }
}
