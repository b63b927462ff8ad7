import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// Two `sluice serve` processes on one PostgreSQL share every daily budget.
@Suite(.serialized) struct PostgresBudgetTests {
    @Test(.enabled(if: StoreBackend.postgresURL != nil || PostgresProcessTests.ci))
    func twoNodesNeverSpendPastTheCapTogether() async throws {
        let rounds = 20
        let purposes = (0..<rounds).map { "  capped\($0): { daily_budget_usd: \(BudgetTests.cap) }" }.joined(separator: "\n")
        try await TwoNodes.with(
            extra: "pricing:\n  gpt-4o-mini-2024-07-18: { input: 1, output: 10 }\npurposes:\n\(purposes)",
            reply: .text("ok", usage: BudgetTests.usage)
        ) { n in
            let (client, ports, key) = (n.client, n.ports, n.key)
            let body = #"{"model":"fast","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}"#
            for round in 0..<rounds {
                let purpose = "capped\(round)"
                let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                    for i in 0..<80 {
                        group.addTask {
                            let r = try await client.send(.POST, port: ports[i % 2], "/v1/chat/completions", body: body, key: key, headers: ["X-Sluice-Purpose": purpose])
                            return (r.status, r.json["error"]?["code"]?.stringValue)
                        }
                    }
                    return try await group.reduce(into: [(Int, String?)]()) { $0.append($1) }
                }
                let ok = statuses.filter { $0.0 == 200 }.count
                #expect(ok >= 1 && ok <= 12, "round \(round): \(ok) answered")
                // A refusal is for settled spend (`budget_exceeded`), or, when the other node's calls
                // still hold the money after the 2 s wait on a loaded machine, `budget_busy`.
                let refused = statuses.filter { $0.0 != 200 }
                #expect(
                    refused.allSatisfy { $0.0 == 429 && ($0.1 == "budget_exceeded" || $0.1 == "budget_busy") },
                    "round \(round): \(refused.map { "\($0.0) \($0.1 ?? "-")" })")
                var spent = -1.0
                for _ in 0..<100 {
                    let summary = try await client.send(.GET, port: ports[round % 2], "/admin/cost-summary", key: n.adminKey)
                    let row = summary.json["by_purpose"]?.arrayValue?.first { $0["purpose"]?.stringValue == purpose }
                    if row?["calls_today"]?.intValue == ok { spent = row?["today_usd"]?.doubleValue ?? -1; break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(spent >= 0 && spent <= BudgetTests.cap + 1e-12, "round \(round): ledger \(spent) vs cap \(BudgetTests.cap)")
            }
        }
    }
}
