import Foundation
import SluiceCore
@testable import SluiceEngine
import SluiceProviders
import SluiceTesting
import Synchronization
import Testing

@Suite struct CircuitBreakerTests {
    var settings: SluiceConfig.Breaker {
        var s = SluiceConfig.Breaker()
        s.windowS = 10
        s.minCalls = 4
        s.errorRate = 0.5
        s.cooldownS = 30
        return s
    }

    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func closedStaysClosedBelowMinCalls() {
        var b = CircuitBreaker(settings: settings)
        for i in 0..<3 {
            #expect(b.admit(now: t0) == .allowed)
            b.record(success: false, probe: false, now: t0.addingTimeInterval(Double(i)))
        }
        #expect(b.state == .closed)
    }

    @Test func closedOpensAtTheErrorRateWithMinCalls() {
        var b = CircuitBreaker(settings: settings)
        b.record(success: true, probe: false, now: t0)
        b.record(success: true, probe: false, now: t0)
        b.record(success: false, probe: false, now: t0)
        #expect(b.state == .closed)  // 3 calls < min_calls
        b.record(success: false, probe: false, now: t0.addingTimeInterval(1))
        // 4 calls, 2 errors = 50 %: opens.
        #expect(b.state == .open(until: t0.addingTimeInterval(31)))
        #expect(b.timesOpened == 1)
    }

    @Test func closedStaysClosedBelowTheErrorRate() {
        var b = CircuitBreaker(settings: settings)
        for i in 0..<10 { b.record(success: i < 6, probe: false, now: t0) }  // 4 of 10 fail, never 50 %
        #expect(b.state == .closed)
    }

    @Test func outcomesOlderThanTheWindowNoLongerCount() {
        var b = CircuitBreaker(settings: settings)
        for _ in 0..<3 { b.record(success: false, probe: false, now: t0) }
        // 10 s later those three have left the 10 s window: one more failure is 1 of 1 < min_calls.
        b.record(success: false, probe: false, now: t0.addingTimeInterval(10))
        #expect(b.state == .closed)
        #expect(b.totals(now: t0.addingTimeInterval(10)) == (1, 1))
        // Within the window they add up.
        var c = CircuitBreaker(settings: settings)
        for i in 0..<4 { c.record(success: false, probe: false, now: t0.addingTimeInterval(Double(i) * 3)) }
        #expect(c.state != .closed)
    }

    func opened() -> CircuitBreaker {
        var b = CircuitBreaker(settings: settings)
        for _ in 0..<4 { b.record(success: false, probe: false, now: t0) }
        return b
    }

    @Test func openRefusesUntilTheCooldownEnds() {
        var b = opened()
        #expect(b.admit(now: t0.addingTimeInterval(1)) == .refused)
        #expect(b.admit(now: t0.addingTimeInterval(29.9)) == .refused)
        #expect(b.state.name == "open")
    }

    @Test func openLetsOneProbeThroughAfterTheCooldown() {
        var b = opened()
        let later = t0.addingTimeInterval(30)
        #expect(b.admit(now: later) == .probe)
        #expect(b.state == .halfOpen(probeSince: later))
        // Everyone else waits for the probe.
        #expect(b.admit(now: later.addingTimeInterval(1)) == .refused)
    }

    @Test func halfOpenProbeSuccessCloses() {
        var b = opened()
        _ = b.admit(now: t0.addingTimeInterval(30))
        b.record(success: true, probe: true, now: t0.addingTimeInterval(31))
        #expect(b.state == .closed)
        #expect(b.totals(now: t0.addingTimeInterval(31)) == (0, 0))
        #expect(b.admit(now: t0.addingTimeInterval(31)) == .allowed)
    }

    @Test func halfOpenProbeFailureReopensForAnotherCooldown() {
        var b = opened()
        _ = b.admit(now: t0.addingTimeInterval(30))
        b.record(success: false, probe: true, now: t0.addingTimeInterval(32))
        #expect(b.state == .open(until: t0.addingTimeInterval(62)))
        #expect(b.timesOpened == 2)
        #expect(b.admit(now: t0.addingTimeInterval(61)) == .refused)
        #expect(b.admit(now: t0.addingTimeInterval(62)) == .probe)
    }

    @Test func halfOpenIgnoresLateOutcomesOfOtherCalls() {
        var b = opened()
        _ = b.admit(now: t0.addingTimeInterval(30))
        b.record(success: true, probe: false, now: t0.addingTimeInterval(31))
        #expect(b.state.name == "half_open")
        b.record(success: false, probe: false, now: t0.addingTimeInterval(31))
        #expect(b.state.name == "half_open")
    }

    @Test func aProbeThatNeverReportsIsReplacedAfterACooldown() {
        var b = opened()
        _ = b.admit(now: t0.addingTimeInterval(30))
        #expect(b.admit(now: t0.addingTimeInterval(59)) == .refused)
        #expect(b.admit(now: t0.addingTimeInterval(60)) == .probe)
    }

    @Test func openIgnoresOutcomesOfCallsAdmittedBeforeItOpened() {
        var b = opened()
        b.record(success: true, probe: false, now: t0.addingTimeInterval(1))
        #expect(b.state.name == "open")
    }

    @Test func boardTracksTargetsWithTheInjectedClock() {
        let clock = ManualClock()
        let board = BreakerBoard(settings: settings, clock: clock)
        for _ in 0..<4 {
            let t = try! #require(board.admit("up/m"))
            board.record(t, success: false)
        }
        #expect(board.admit("up/m") == nil)
        #expect(board.admit("other/m") != nil)
        #expect(board.snapshot().first?.state == "open")
        clock.advance(30)
        let probe = try! #require(board.admit("up/m"))
        #expect(probe.probe)
        #expect(board.admit("up/m") == nil)
        board.record(probe, success: true)
        #expect(board.snapshot().first { $0.target == "up/m" }?.state == "closed")
        #expect(board.admit("up/m")?.probe == false)
    }
}

@Suite struct RetryPolicyTests {
    @Test func fullJitterStaysUnderTheExponentialCeiling() {
        var s = SluiceConfig.Retry()
        s.baseMs = 100
        s.maxMs = 1_000
        let p = RetryPolicy(s)
        #expect(p.delayMs(afterTry: 1, retryAfterSeconds: nil, unit: 0.999) < 100)
        #expect(p.delayMs(afterTry: 2, retryAfterSeconds: nil, unit: 0.5) == 100)
        #expect(p.delayMs(afterTry: 3, retryAfterSeconds: nil, unit: 0.5) == 200)
        #expect(p.delayMs(afterTry: 10, retryAfterSeconds: nil, unit: 0.5) == 500)  // capped at max_ms
        #expect(p.delayMs(afterTry: 60, retryAfterSeconds: nil, unit: 1) == 1_000)
        #expect(p.delayMs(afterTry: 1, retryAfterSeconds: nil, unit: 0) == 0)
        // Spread: many draws are not all equal.
        let draws = Set((0..<50).map { _ in p.delayMs(afterTry: 4, retryAfterSeconds: nil) })
        #expect(draws.count > 10)
        #expect(draws.allSatisfy { $0 >= 0 && $0 < 800 })
    }

    @Test func retryAfterWins() {
        let p = RetryPolicy(SluiceConfig.Retry())
        #expect(p.delayMs(afterTry: 1, retryAfterSeconds: 2.5, unit: 0.1) == 2_500)
    }

    @Test(arguments: [
        (408, FailureClass.retryable), (409, .retryable), (429, .retryable), (500, .retryable), (502, .retryable),
        (503, .retryable), (504, .retryable), (529, .retryable), (400, .fatal), (413, .fatal), (422, .fatal),
        (401, .nextTarget), (403, .nextTarget), (404, .nextTarget), (501, .nextTarget),
    ])
    func statusesAreClassified(status: Int, expected: FailureClass) {
        #expect(FailureClass(ProviderError(.http, status: status, message: "x")) == expected)
    }

    @Test func transportFailuresAreRetryable() {
        #expect(FailureClass(ProviderError(.connection, message: "reset")) == .retryable)
        #expect(FailureClass(ProviderError(.timeout, message: "slow")) == .retryable)
        #expect(FailureClass(ProviderError(.invalidResponse, status: 200, message: "garbage")) == .retryable)
    }

    @Test func retryAfterReadsSecondsAndHTTPDates() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)  // 2027-01-15T08:00:00Z
        #expect(RetryAfter.seconds("120", now: now) == 120)
        #expect(RetryAfter.seconds("1.5", now: now) == 1.5)
        #expect(RetryAfter.seconds("-3", now: now) == 0)
        #expect(RetryAfter.seconds("Fri, 15 Jan 2027 08:00:30 GMT", now: now) == 30)
        #expect(RetryAfter.seconds("Friday, 15-Jan-27 08:01:00 GMT", now: now) == 60)
        #expect(RetryAfter.seconds("Fri, 15 Jan 2027 07:00:00 GMT", now: now) == 0)  // in the past
        #expect(RetryAfter.seconds("soon", now: now) == nil)
    }
}

@Suite struct RoutePlanTests {
    struct Named: Provider {
        let name: String
        func complete(_ request: UpstreamRequest) async throws(ProviderError) -> UpstreamResponse {
            throw ProviderError(.connection, message: "unused")
        }
        func stream(_ request: UpstreamRequest) async throws(ProviderError) -> any ChunkStream {
            throw ProviderError(.connection, message: "unused")
        }
    }

    func target(_ name: String, weight: Double, priority: Int) -> ResolvedTarget {
        ResolvedTarget(provider: Named(name: name), model: "m", weight: weight, priority: priority)
    }

    @Test func prioritiesComeInOrderAndWeightsShareTheFirstPlace() {
        let targets = [target("a", weight: 3, priority: 1), target("b", weight: 1, priority: 1), target("c", weight: 1, priority: 2)]
        var firsts: [String: Int] = [:]
        for _ in 0..<4_000 {
            let order = RoutePlan.order(targets).map(\.provider.name)
            #expect(order.last == "c")
            #expect(Set(order) == ["a", "b", "c"])
            firsts[order[0], default: 0] += 1
        }
        // Weight 3 : 1 → about 75 % first.
        let share = Double(firsts["a", default: 0]) / 4_000
        #expect(share > 0.70 && share < 0.80, "a first in \(share)")
    }
}
