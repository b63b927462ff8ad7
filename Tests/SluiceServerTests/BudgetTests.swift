import AsyncHTTPClient
import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// Budgets, run limits and rate limits: reserved before the call, settled after.
@Suite struct BudgetTests {
    /// Each answer costs what its reservation holds, nearly: 10 input tokens (the
    /// estimate of a short request is 13) and `max_tokens` (100) output tokens.
    static let usage = Usage(inputTokens: 10, outputTokens: 100)
    /// 10 × 1 + 100 × 10 per million.
    static let callCost = (10 * 1.0 + 100 * 10.0) / 1e6
    /// Fits twelve calls.
    static let cap = 12.5 * callCost

    static func config(_ upstream: FakeUpstream, extra: String = "") -> String {
        """
        providers:
          up: { type: openai_compatible, base_url: "\(upstream.baseURL)" }
        models:
          fast: { targets: [ { provider: up, model: priced-model } ] }
        pricing:
          priced-model: { input: 1, output: 10 }
        purposes:
          capped: { daily_budget_usd: \(cap) }
          open: { timeout_ms: 30000 }
        \(extra)
        \(noRetry)
        """
    }

    static let body = #"{"model":"fast","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}"#

    @Test func concurrentCallsNeverSpendPastTheDailyCap() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("ok", usage: Self.usage))
        let clock = ManualClock(Date(timeIntervalSince1970: 1_795_000_000))
        // 1,600 calls load the machine: kept apart from the tests that time deadlines.
        try await exclusively { try await Harness.with(Self.config(upstream), clock: clock) { h in
            for round in 0..<20 {
                let results = try await withThrowingTaskGroup(of: HTTPResult.self) { group in
                    for _ in 0..<80 { group.addTask { try await h.chat(Self.body, headers: ["X-Sluice-Purpose": "capped"]) } }
                    return try await group.reduce(into: [HTTPResult]()) { $0.append($1) }
                }
                let ok = results.filter { $0.status == 200 }
                let refused = results.filter { $0.status == 429 }
                #expect(ok.count + refused.count == 80, "round \(round): \(Set(results.map(\.status)))")
                #expect(ok.count >= 1 && ok.count <= 12, "round \(round): \(ok.count) answered")
                #expect(refused.allSatisfy { $0.json["error"]?["code"] == "budget_exceeded" && $0.header("Retry-After") != nil })
                await h.gateway.callLog.flush()
                let day = Date(timeIntervalSince1970: (clock.now().timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)
                let spent = try await h.gateway.store.ledgerTotals(
                    from: day, to: day.addingTimeInterval(86_400), by: nil, purpose: "capped").first?.costUSD ?? 0
                #expect(spent <= Self.cap + 1e-12, "round \(round): ledger \(spent) > cap \(Self.cap)")
                #expect(abs(spent - Double(ok.count) * Self.callCost) < 1e-9)
                clock.advance(86_400)  // a new UTC day: a new budget
            }
        } }
    }

    @Test func costHeadersMatchTheLedgerAndTheBreakerResetsAtMidnight() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("ok", usage: Self.usage))
        // 23:59:30 UTC.
        let midnight = 1_795_046_400.0
        let clock = ManualClock(Date(timeIntervalSince1970: midnight - 30))
        try await Harness.with(Self.config(upstream), clock: clock) { h in
            var headerSum = 0.0
            var refused: HTTPResult?
            for _ in 0..<20 {
                let r = try await h.chat(Self.body, headers: ["X-Sluice-Purpose": "capped"])
                if r.status == 429 { refused = r; break }
                let header = try #require(r.header("X-Sluice-Cost-Usd").flatMap(Double.init))
                await h.gateway.callLog.flush()
                let entry = try #require(try await h.gateway.store.ledgerEntry(callID: r.header("X-Sluice-Call-Id") ?? ""))
                #expect(abs(entry.costUSD - header) < 1e-12)
                headerSum += header
            }
            let r = try #require(refused)
            #expect(r.json["error"]?["code"] == "budget_exceeded")
            #expect(r.header("Retry-After") == "30")
            let summary = try await h.request(.GET, "/admin/cost-summary")
            let capped = try #require(summary.json["by_purpose"]?.arrayValue?.first { $0["purpose"] == "capped" })
            #expect(abs((capped["today_usd"]?.doubleValue ?? -1) - headerSum) < 1e-9)
            #expect(capped["breaker"] == "tripped")
            #expect(capped["daily_budget_usd"]?.doubleValue == Self.cap)
            #expect(capped["calls_today"] == 12)
            #expect(abs((summary.json["today_usd"]?.doubleValue ?? -1) - headerSum) < 1e-9)

            clock.advance(35)  // 00:00:05 the next day
            let after = try await h.chat(Self.body, headers: ["X-Sluice-Purpose": "capped"])
            #expect(after.status == 200, "\(after.text)")
            let next = try await h.request(.GET, "/admin/cost-summary?by=purpose&since=2d")
            let reset = next.json["by_purpose"]?.arrayValue?.first { $0["purpose"] == "capped" }
            #expect(reset?["breaker"] == "closed")
            #expect(reset?["calls_today"] == 1)
            #expect(next.json["groups"]?.arrayValue?.first?["calls"] == 13)
        }
    }

    @Test func runLimitsAndKeyRateLimits() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("ok", usage: Self.usage))
        let extra = """
            auth:
              keys:
                - { name: app, key: app-secret-123, rpm: 5 }
                - { name: thrifty, key: thrifty-secret-123, monthly_budget_usd: \(2.5 * Self.callCost) }
            """
        // A still clock: the rpm window is a UTC minute, and a slow run must not cross into the next one.
        let clock = ManualClock(Date(timeIntervalSince1970: 1_795_000_020))
        try await Harness.with(Self.config(upstream, extra: extra), clock: clock) { h in
            let app = ["Authorization": "Bearer app-secret-123"]
            let run = app.merging(["X-Sluice-Run-Id": "batch-1", "X-Sluice-Run-Max-Calls": "3"]) { $1 }
            for _ in 0..<3 { #expect(try await h.chat(Self.body, headers: run).status == 200) }
            let fourth = try await h.chat(Self.body, headers: run)
            #expect(fourth.status == 429)
            #expect(fourth.json["error"]?["code"] == "run_call_limit")
            // rpm 5: the four calls above (the refused one counts too) and one more spend it.
            #expect(try await h.chat(Self.body, headers: app).status == 200)
            let limited = try await h.chat(Self.body, headers: app)
            #expect(limited.status == 429)
            #expect(limited.json["error"]?["code"] == "rate_limited")
            #expect(limited.header("Retry-After").flatMap(Int.init).map { (1...60).contains($0) } == true)

            let thrifty = ["Authorization": "Bearer thrifty-secret-123"]
            let budgetRun = thrifty.merging(["X-Sluice-Run-Id": "r2", "X-Sluice-Run-Budget-Usd": "\(1.5 * Self.callCost)"]) { $1 }
            #expect(try await h.chat(Self.body, headers: budgetRun).status == 200)
            let overRun = try await h.chat(Self.body, headers: budgetRun)
            #expect(overRun.json["error"]?["code"] == "run_budget_exceeded")
            #expect(try await h.chat(Self.body, headers: thrifty).status == 200)
            let month = try await h.chat(Self.body, headers: thrifty)
            #expect(month.json["error"]?["code"] == "budget_exceeded")
            #expect(month.json["error"]?["message"]?.stringValue?.contains("monthly budget") == true)

            let noRun = try await h.chat(Self.body, headers: thrifty.merging(["X-Sluice-Run-Max-Calls": "2"]) { $1 })
            #expect(noRun.status == 400)
            #expect(noRun.json["error"]?["param"] == "X-Sluice-Run-Id")
        }
    }
}
