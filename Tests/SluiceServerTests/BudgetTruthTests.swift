import AsyncHTTPClient
import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// Budgets that tell the truth: reservations sized from observed output, `budget_busy` for
/// money held by calls in flight, `budget_exceeded` (and the breaker) only for settled spend.
@Suite struct BudgetTruthTests {
    /// A short answer: 10 input and 20 output tokens.
    static let usage = Usage(inputTokens: 10, outputTokens: 20)
    /// 10 × 0.01 + 20 × 8 per million: sixty of them cost under one cent.
    static let callCost = (10 * 0.01 + 20 * 8.0) / 1e6
    /// No `max_tokens`: a purpose without history reserves 4,096 output tokens ($0.033), so only
    /// thirty such reservations fit in $1.00 at once.
    static let body = #"{"model":"fast","messages":[{"role":"user","content":"triage this"}]}"#

    static func config(_ upstream: FakeUpstream, cap: Double) -> String {
        """
        providers:
          up: { type: openai_compatible, base_url: "\(upstream.baseURL)" }
        models:
          fast: { targets: [ { provider: up, model: cheap-model } ] }
        pricing:
          cheap-model: { input: 0.01, output: 8 }
        purposes:
          triage: { daily_budget_usd: \(cap) }
        \(noRetry)
        """
    }

    static func burst(_ h: Harness, _ n: Int, body: String = body) async throws -> [HTTPResult] {
        try await withThrowingTaskGroup(of: HTTPResult.self) { group in
            for _ in 0..<n { group.addTask { try await h.chat(body, headers: ["X-Sluice-Purpose": "triage"]) } }
            return try await group.reduce(into: [HTTPResult]()) { $0.append($1) }
        }
    }

    static func triageRow(_ h: Harness) async throws -> JSON? {
        try await h.request(.GET, "/admin/cost-summary").json["by_purpose"]?.arrayValue?.first { $0["purpose"] == "triage" }
    }

    /// The issue's case: 60 concurrent cheap calls under a roomy $1.00 cap are all served, and
    /// the breaker stays closed.
    @Test func aBurstOfCheapCallsUnderARoomyCapIsServed() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("bug", usage: Self.usage))
        try await exclusively { try await Harness.with(Self.config(upstream, cap: 1.0)) { h in
            let results = try await Self.burst(h, 60)
            let refused = results.filter { $0.status != 200 }
            #expect(refused.isEmpty, "\(refused.map { $0.json["error"]?["message"]?.stringValue ?? $0.text })")
            await h.gateway.callLog.flush()
            let row = try #require(try await Self.triageRow(h))
            #expect(row["breaker"] == "closed")
            #expect((row["today_usd"]?.doubleValue ?? 1) < 0.01)
            // Later calls reserve the observed p99 (20 tokens), not 4,096.
            #expect(h.gateway.budget.expectedOutputTokens(purpose: "triage", model: "fast") == 20)
            // An answer past the p99 is charged in full, and its excess reported.
            upstream.enqueue(.text("a long one", usage: Usage(inputTokens: 10, outputTokens: 400)))
            #expect(try await h.chat(Self.body, headers: ["X-Sluice-Purpose": "triage"]).status == 200)
            await h.gateway.callLog.flush()
            let after = try #require(try await Self.triageRow(h))
            #expect(after["overshoot_calls_today"] == 1, "\(after)")
            let excess = after["overshoot_today_usd"]?.doubleValue ?? 0
            #expect(excess > 370 * 8e-6 && excess < 400 * 8e-6, "\(after)")
        } }
    }

    /// With a cap of about half the real total, refusals are `budget_exceeded` only once settled
    /// spend leaves no room for another call, and nothing is spent past the cap.
    @Test func aTightCapRefusesOnlyForSettledSpendAndNeverOverspends() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("bug", usage: Self.usage))
        let cap = 30.5 * Self.callCost
        try await exclusively { try await Harness.with(Self.config(upstream, cap: cap)) { h in
            let results = try await Self.burst(h, 60)
            let ok = results.filter { $0.status == 200 }
            let refused = results.filter { $0.status != 200 }
            #expect(ok.count == 30, "\(ok.count) answered")
            for r in refused {
                let e = r.json["error"]
                #expect(r.status == 429 && e?["code"] == "budget_exceeded", "\(r.text)")
                let spent = e?["spent_usd"]?.doubleValue ?? 0, call = e?["this_call_usd"]?.doubleValue ?? 0
                #expect(spent + call > cap, "refused with \(spent) spent and \(call) for the call under \(cap): \(r.text)")
                #expect(e?["cap"] == "purpose" && e?["message"]?.stringValue?.contains("Purpose 'triage' has reached its daily budget") == true)
            }
            await h.gateway.callLog.flush()
            let row = try #require(try await Self.triageRow(h))
            let spent = row["today_usd"]?.doubleValue ?? 1
            #expect(spent <= cap + 1e-12, "overspent: \(spent) > \(cap)")
            #expect(row["breaker"] == "tripped")
        } }
    }

    /// Money held by calls in flight is `budget_busy` with the figures and a short Retry-After; it
    /// does not trip the breaker, and the call passes once they end.
    @Test func moneyHeldByCallsInFlightIsBusyNotExceeded() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        var slow = FakeUpstream.Reply.text("bug", usage: Self.usage)
        slow.delayMs = 6_000  // well past the 2 s the third call waits, on a loaded machine too
        upstream.setDefault(slow)
        // max_tokens 1,000 reserves $0.008 a call; the cap holds two such reservations.
        let reservation = (Double(ChatServiceProbe.inputEstimate) * 0.01 + 1_000 * 8) / 1e6
        let cap = 2.5 * reservation
        let body = #"{"model":"fast","max_tokens":1000,"messages":[{"role":"user","content":"triage this"}]}"#
        try await Harness.with(Self.config(upstream, cap: cap)) { h in
            async let first = h.chat(body, headers: ["X-Sluice-Purpose": "triage"])
            async let second = h.chat(body, headers: ["X-Sluice-Purpose": "triage"])
            // Both must hold their reservations (reached the upstream) before the third call.
            let start = ContinuousClock.now
            while upstream.requestCount < 2, ContinuousClock.now - start < .seconds(5) {
                try await Task.sleep(for: .milliseconds(20))
            }
            try #require(upstream.requestCount == 2)
            let busy = try await h.chat(body, headers: ["X-Sluice-Purpose": "triage"])
            #expect(busy.status == 429)
            #expect(busy.json["error"]?["code"] == "budget_busy", "\(busy.text)")
            #expect(busy.header("Retry-After") == "1")
            let message = busy.json["error"]?["message"]?.stringValue ?? ""
            #expect(message.contains("is reserved by 2 calls in flight"), "\(message)")
            #expect(busy.json["error"]?["calls_in_flight"] == 2)
            let (a, b) = try await (first, second)
            #expect(a.status == 200 && b.status == 200)
            #expect(try await Self.triageRow(h)?["breaker"] == "closed")
            upstream.setDefault(.text("bug", usage: Self.usage))
            let after = try await h.chat(body, headers: ["X-Sluice-Purpose": "triage"])
            #expect(after.status == 200, "\(after.text)")
        }
    }

    /// A call refused for its own large `max_tokens` is `budget_exceeded` (it cannot fit) but trips
    /// no breaker: typical calls of the purpose still fit.
    @Test func aRefusalForOneHugeCallTripsNoBreaker() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("bug", usage: Self.usage))
        try await Harness.with(Self.config(upstream, cap: 0.05)) { h in
            // History first: the purpose's answers run to 20 tokens.
            _ = try await Self.burst(h, 25)
            let huge = try await h.chat(
                #"{"model":"fast","max_tokens":100000,"messages":[{"role":"user","content":"triage this"}]}"#,
                headers: ["X-Sluice-Purpose": "triage"])
            #expect(huge.status == 429 && huge.json["error"]?["code"] == "budget_exceeded", "\(huge.text)")
            #expect(huge.json["error"]?["message"]?.stringValue?.contains("more than the") == true)
            #expect(try await Self.triageRow(h)?["breaker"] == "closed")
            #expect(try await h.chat(Self.body, headers: ["X-Sluice-Purpose": "triage"]).status == 200)
        }
    }
}

/// The input estimate of ``BudgetTruthTests/body`` (13 characters, one message).
enum ChatServiceProbe {
    static let inputEstimate = (11 + 2) / 3 + 4 + 8
}
