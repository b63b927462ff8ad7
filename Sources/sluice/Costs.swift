import ArgumentParser
import Foundation
import SluiceCore
import SluiceEngine
import SluiceStore

struct Costs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Spend from the ledger: totals, per purpose today, and grouped.")

    @OptionGroup var options: ConfigOption
    @Option(help: "Group the spend since --since by purpose, model, key, user, provider or run, with p50/p95/p99 latency per group.")
    var by: String?
    @Option(help: "With --by: since a duration (1h, 7d) or ISO 8601 time (default 24h).") var since: String?
    @Option(help: "With --by: order the groups by cost (highest first, the default) or p95 (slowest first).") var sort: String?
    @Option(help: "With --by: show at most this many groups (1…1000, default 50).") var limit: Int?
    @Flag(help: "Print the JSON of GET /admin/cost-summary instead of tables.") var json = false

    func run() async throws {
        let config = try loadConfigOrExit(options.config)
        var dimension: LedgerDimension?
        if let by {
            guard let d = LedgerDimension(rawValue: by) else {
                throw ValidationError("--by must be one of \(LedgerDimension.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            dimension = d
        }
        let now = Date()
        var from: Date?
        if let since {
            guard let d = SinceParser.parse(since, now: now) else { throw ValidationError("--since must be a duration such as 1h or 7d") }
            from = d
        }
        var order = CostSummary.Sort.cost
        if let sort {
            guard let s = CostSummary.Sort(rawValue: sort) else {
                throw ValidationError("--sort must be one of \(CostSummary.Sort.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            order = s
        }
        if let limit, !(1...CostSummary.maxLimit).contains(limit) {
            throw ValidationError("--limit must be from 1 to \(CostSummary.maxLimit)")
        }
        let store = try await openStore(config, logger: .init(label: "sluice"))
        let summary = try await CostSummary.build(
            store: store, config: config, budget: nil, now: now, by: dimension ?? (from != nil ? .purpose : nil), since: from,
            sort: order, limit: limit ?? CostSummary.defaultLimit)
        try await store.close()
        if json {
            print(summary.jsonString)
            return
        }
        print(Self.render(summary))
    }

    static func money(_ v: JSON?) -> String { v?.doubleValue.map { String(format: "%.6f", $0) } ?? "-" }
    static func ms(_ v: JSON?) -> String { v?.doubleValue.map { String(format: "%.1f", $0) } ?? "-" }

    /// The tables `sluice costs` prints.
    static func render(_ s: JSON) -> String {
        var out = "SPEND (USD)  today \(money(s["today_usd"]))  24h \(money(s["last_24h_usd"]))  7d \(money(s["last_7d_usd"]))  30d \(money(s["last_30d_usd"]))\n\n"
        var rows = [["PURPOSE", "TODAY_USD", "AVG_30D_USD", "RATIO", "BUDGET_USD", "BREAKER", "CALLS", "TOKENS"]]
        for p in s["by_purpose"]?.arrayValue ?? [] {
            rows.append([
                p["purpose"]?.stringValue ?? "", money(p["today_usd"]), money(p["avg_daily_30d_usd"]),
                p["ratio_vs_30d_avg"]?.doubleValue.map { String(format: "%.2f", $0) } ?? "-",
                p["daily_budget_usd"]?.doubleValue.map { String(format: "%.2f", $0) } ?? "-",
                p["breaker"]?.stringValue ?? "", String(p["calls_today"]?.intValue ?? 0), String(p["tokens_today"]?.intValue ?? 0),
            ])
        }
        out += table(rows)
        if let by = s["by"]?.stringValue {
            let groups = s["groups"]?.arrayValue ?? []
            out += "\nSINCE \(s["since"]?.stringValue ?? "")  BY \(by)  SORT \(s["sort"]?.stringValue ?? "cost")"
            out += "  SHOWING \(groups.count) OF \(s["groups_total"]?.intValue ?? groups.count)\n"
            var g = [[by.uppercased(), "COST_USD", "SAVED_USD", "CALLS", "LOGGED", "P50_MS", "P95_MS", "P99_MS", "INPUT_TOKENS", "OUTPUT_TOKENS"]]
            for r in groups {
                g.append([
                    r[by]?.stringValue ?? "(none)", money(r["cost_usd"]), money(r["saved_usd"]), String(r["calls"]?.intValue ?? 0),
                    String(r["logged_calls"]?.intValue ?? 0), ms(r["p50_ms"]), ms(r["p95_ms"]), ms(r["p99_ms"]),
                    String(r["input_tokens"]?.intValue ?? 0), String(r["output_tokens"]?.intValue ?? 0),
                ])
            }
            out += table(g)
        }
        return out
    }

    static func table(_ rows: [[String]]) -> String {
        guard let width = rows.first?.count else { return "" }
        let widths = (0..<width).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { r in
            r.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }
}
