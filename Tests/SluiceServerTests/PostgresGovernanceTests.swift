import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// Budgets and end-user limits on two `sluice serve` processes sharing PostgreSQL.
@Suite(.serialized) struct PostgresGovernanceTests {
    static let pricing = "pricing:\n  gpt-4o-mini-2024-07-18: { input: 0.01, output: 8 }"

    /// A burst of cheap calls without `max_tokens`, spread over two nodes that have seen the model's
    /// answers: under a roomy cap every call is served; under a cap of about half the real total, refusals are `budget_exceeded`
    /// only once settled spend leaves no room, and nothing is spent past the cap.
    @Test(.enabled(if: StoreBackend.postgresURL != nil || PostgresProcessTests.ci))
    func twoNodesTellTheTruthAboutOneBudget() async throws {
        let tight = 30.5 * BudgetTruthTests.callCost
        let extra = "\(Self.pricing)\npurposes:\n  roomy: { daily_budget_usd: 1.0 }\n  tight: { daily_budget_usd: \(tight) }"
        try await TwoNodes.with(extra: extra, reply: .text("bug", usage: BudgetTruthTests.usage)) { n in
            func burst(_ purpose: String) async throws -> [(Int, JSON)] {
                try await withThrowingTaskGroup(of: (Int, JSON).self) { group in
                    for i in 0..<60 {
                        group.addTask {
                            let r = try await n.client.send(
                                .POST, port: n.ports[i % 2], "/v1/chat/completions", body: BudgetTruthTests.body, key: n.key,
                                headers: ["X-Sluice-Purpose": purpose])
                            return (r.status, r.json)
                        }
                    }
                    return try await group.reduce(into: [(Int, JSON)]()) { $0.append($1) }
                }
            }
            // Each node learns the model's answer size first (the cold start, with its blanket 4,096-token
            // guesses, is BudgetTruthTests' on one node): reservations are then sized from the p99.
            for port in n.ports {
                for _ in 0..<25 {
                    let r = try await n.client.send(
                        .POST, port: port, "/v1/chat/completions", body: BudgetTruthTests.body, key: n.key, headers: ["X-Sluice-Purpose": "roomy"])
                    #expect(r.status == 200)
                }
            }
            let roomy = try await burst("roomy")
            #expect(roomy.allSatisfy { $0.0 == 200 }, "\(roomy.filter { $0.0 != 200 }.map { $0.1["error"]?["message"] ?? .null })")

            let results = try await burst("tight")
            let ok = results.filter { $0.0 == 200 }.count
            #expect(ok >= 1 && ok <= 30, "\(ok) answered")
            // Each refusal tells the truth: budget_exceeded only when settled spend leaves no room;
            // budget_busy (another node's calls still holding money after the wait, on a loaded
            // machine) only while money is reserved and settled spend still leaves room.
            for (status, json) in results where status != 200 {
                let e = json["error"]
                let spent = e?["spent_usd"]?.doubleValue ?? 0, call = e?["this_call_usd"]?.doubleValue ?? 0
                #expect(status == 429, "\(json)")
                if e?["code"] == "budget_busy" {
                    // Held by calls in flight, or leased by the other node and not yet given back.
                    let held = (e?["reserved_usd"]?.doubleValue ?? 0) + (e?["idle_usd"]?.doubleValue ?? 0)
                    #expect(held > 0 && spent + call <= tight + 1e-12, "\(json)")
                } else {
                    #expect(e?["code"] == "budget_exceeded", "\(json)")
                    #expect(spent + call > tight, "refused with \(spent) spent and \(call) for the call under \(tight)")
                }
            }
            var summary = JSON.null
            for _ in 0..<100 {
                summary = try await n.client.send(.GET, port: n.ports[0], "/admin/cost-summary", key: n.adminKey).json
                let row = summary["by_purpose"]?.arrayValue?.first { $0["purpose"] == "tight" }
                if row?["calls_today"]?.intValue == ok { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let rows = summary["by_purpose"]?.arrayValue ?? []
            let spent = rows.first { $0["purpose"] == "tight" }?["today_usd"]?.doubleValue ?? 1
            #expect(spent <= tight + 1e-12, "overspent on two nodes: \(spent) > \(tight)")
            #expect(rows.first { $0["purpose"] == "roomy" }?["breaker"] == "closed")
        }
    }

    /// An end user blocked through one node is refused on the other within a second; the
    /// per-user cap holds across both.
    @Test(.enabled(if: StoreBackend.postgresURL != nil || PostgresProcessTests.ci))
    func anEndUserBlockedOnOneNodeIsRefusedOnTheOther() async throws {
        let extra = "\(Self.pricing)\nend_users: { daily_budget_usd: 0.5 }"
        try await TwoNodes.with(extra: extra, reply: .text("bug", usage: BudgetTruthTests.usage)) { n in
            let body = #"{"model":"fast","max_tokens":50,"user":"mallory","messages":[{"role":"user","content":"hi"}]}"#
            func call(_ port: Int) async throws -> Int {
                try await n.client.send(.POST, port: port, "/v1/chat/completions", body: body, key: n.key).status
            }
            #expect(try await call(n.ports[1]) == 200)
            let put = try await n.client.send(
                .PUT, port: n.ports[0], "/admin/end-users/mallory", body: #"{"blocked": true, "reason": "abuse"}"#, key: n.adminKey)
            #expect(put.status == 200, "\(put.json)")
            let set = ContinuousClock.now
            var refusedAfter: Duration?
            while ContinuousClock.now - set < .seconds(5) {
                if try await call(n.ports[1]) == 403 { refusedAfter = ContinuousClock.now - set; break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(refusedAfter != nil && refusedAfter! < .seconds(2), "node 2 refused after \(String(describing: refusedAfter))")
            let shown = try await n.client.send(.GET, port: n.ports[1], "/admin/end-users/mallory", key: n.adminKey)
            #expect(shown.json["blocked"] == true && shown.json["override"]?["reason"] == "abuse")
        }
    }
}
