import Foundation
import SluiceProviders
import Testing

@Suite struct RateLimitHeaderTests {
    let now = Date(timeIntervalSince1970: 1_795_000_000)

    @Test func goDurationsAndBareSeconds() {
        #expect(RateLimitHeaders.seconds("1s") == 1)
        #expect(RateLimitHeaders.seconds("6m0s") == 360)
        #expect(RateLimitHeaders.seconds("20ms") == 0.02)
        #expect(RateLimitHeaders.seconds("1h2m3.5s") == 3723.5)
        #expect(RateLimitHeaders.seconds("7.66s") == 7.66)
        #expect(RateLimitHeaders.seconds("250us")! - 0.00025 < 1e-12)
        #expect(RateLimitHeaders.seconds("12") == 12)
        #expect(RateLimitHeaders.seconds("") == nil)
        #expect(RateLimitHeaders.seconds("soon") == nil)
        #expect(RateLimitHeaders.seconds("5x") == nil)
        #expect(RateLimitHeaders.seconds("m") == nil)
    }

    @Test func openAIHeaders() {
        let headers = [
            "x-ratelimit-remaining-requests": "0", "x-ratelimit-remaining-tokens": "149984",
            "x-ratelimit-reset-requests": "6m0s", "x-ratelimit-reset-tokens": "20ms",
        ]
        let r = RateLimitHeaders.read(now: now) { headers[$0] }
        #expect(r.remainingRequests == 0)
        #expect(r.remainingTokens == 149_984)
        #expect(r.requestsReset == now.addingTimeInterval(360))
        #expect(r.tokensReset == now.addingTimeInterval(0.02))
    }

    @Test func anthropicHeadersTakeTheTightestTokenLimit() {
        let headers = [
            "anthropic-ratelimit-requests-remaining": "49", "anthropic-ratelimit-requests-reset": "2026-11-19T08:27:00Z",
            "anthropic-ratelimit-tokens-remaining": "90000", "anthropic-ratelimit-tokens-reset": "2026-11-19T08:27:01Z",
            "anthropic-ratelimit-input-tokens-remaining": "70000", "anthropic-ratelimit-input-tokens-reset": "2026-11-19T08:27:02.5Z",
            "anthropic-ratelimit-output-tokens-remaining": "80000", "anthropic-ratelimit-output-tokens-reset": "2026-11-19T08:27:03Z",
        ]
        let r = RateLimitHeaders.read(now: now) { headers[$0] }
        #expect(r.remainingRequests == 49)
        #expect(r.requestsReset == RateLimitHeaders.rfc3339("2026-11-19T08:27:00Z"))
        #expect(r.remainingTokens == 70_000)
        #expect(r.tokensReset == Date(timeIntervalSince1970: RateLimitHeaders.rfc3339("2026-11-19T08:27:02Z")!.timeIntervalSince1970 + 0.5))
    }

    @Test func nothingToReadAndJunkIgnored() {
        #expect(RateLimitHeaders.read(now: now) { _ in nil }.isEmpty)
        let junk = ["x-ratelimit-remaining-requests": "-3", "x-ratelimit-reset-requests": "whenever"]
        #expect(RateLimitHeaders.read(now: now) { junk[$0] }.isEmpty)
    }
}

@Suite struct KeyPoolStateTests {
    let t0 = Date(timeIntervalSince1970: 1_795_000_000)

    func pool(_ weights: [Double] = [1, 1]) -> KeyPool {
        KeyPool(keys: weights.enumerated().map { ("k\($0.offset)", $0.element) })
    }

    @Test func weightedByRollAmongKeysWithRoom() {
        var p = pool([3, 1])
        #expect(p.pick(now: t0, roll: 0.0) == .send(0))
        #expect(p.pick(now: t0, roll: 0.74) == .send(0))
        #expect(p.pick(now: t0, roll: 0.76) == .send(1))
        #expect(p.pick(now: t0, roll: 0.999) == .send(1))
        #expect(p.keys.map(\.calls) == [2, 2])
    }

    @Test func weightsAreRespectedOverManyCalls() {
        var p = pool([3, 1])
        var first = 0
        for _ in 0..<20_000 where p.pick(now: t0, roll: Double.random(in: 0..<1)) == .send(0) { first += 1 }
        #expect((0.72...0.78).contains(Double(first) / 20_000))
    }

    @Test func aKeyWithNoRequestsLeftIsSkippedUntilItsReset() {
        var p = pool()
        p.answered(0, status: 200, reading: RateLimitReading(remainingRequests: 0, requestsReset: t0.addingTimeInterval(60)),
                   retryAfterSeconds: nil, now: t0)
        for roll in stride(from: 0.0, to: 1.0, by: 0.1) { #expect(p.pick(now: t0.addingTimeInterval(59), roll: roll) == .send(1)) }
        #expect(p.pick(now: t0.addingTimeInterval(60), roll: 0) == .send(0))
        #expect(p.keys[0].remainingRequests == nil)  // the window passed: unknown again
    }

    @Test func knownRemainingRequestsCountDownPerCall() {
        var p = pool([1])
        p.answered(0, status: 200, reading: RateLimitReading(remainingRequests: 2, requestsReset: t0.addingTimeInterval(10)),
                   retryAfterSeconds: nil, now: t0)
        #expect(p.pick(now: t0, roll: 0) == .send(0))
        #expect(p.pick(now: t0, roll: 0) == .send(0))
        #expect(p.pick(now: t0, roll: 0) == .exhausted([.init(name: "k0", until: t0.addingTimeInterval(10), reason: "remaining requests 0")]))
    }

    @Test func a429CoolsDownUntilRetryAfterThenTheResetThenTheDefault() {
        var p = pool([1, 1, 1])
        p.answered(0, status: 429, reading: RateLimitReading(requestsReset: t0.addingTimeInterval(99)), retryAfterSeconds: 5, now: t0)
        p.answered(1, status: 429, reading: RateLimitReading(remainingRequests: 3, remainingTokens: 0,
                   requestsReset: t0.addingTimeInterval(2), tokensReset: t0.addingTimeInterval(30)), retryAfterSeconds: nil, now: t0)
        p.answered(2, status: 429, reading: RateLimitReading(), retryAfterSeconds: nil, now: t0)
        #expect(p.keys.map(\.cooldownUntil) == [t0.addingTimeInterval(5), t0.addingTimeInterval(30), t0.addingTimeInterval(10)])
        #expect(p.keys.map(\.rateLimited) == [1, 1, 1])
        guard case .exhausted(let waits) = p.pick(now: t0.addingTimeInterval(1), roll: 0) else {
            Issue.record("expected every key blocked")
            return
        }
        #expect(waits.map(\.name) == ["k0", "k2", "k1"])
        #expect(waits.allSatisfy { $0.reason == "cooling down after a 429" })
        #expect(p.pick(now: t0.addingTimeInterval(5), roll: 0) == .send(0))
        #expect(p.pick(now: t0.addingTimeInterval(10), roll: 0.99) == .send(2))
    }

    @Test func excludedKeysAreNotPickedNorListed() {
        var p = pool()
        p.answered(1, status: 200, reading: RateLimitReading(remainingRequests: 0, requestsReset: t0.addingTimeInterval(4)),
                   retryAfterSeconds: nil, now: t0)
        #expect(p.pick(now: t0, excluding: [0], roll: 0) == .exhausted([.init(name: "k1", until: t0.addingTimeInterval(4), reason: "remaining requests 0")]))
        #expect(p.pick(now: t0, excluding: [0, 1], roll: 0) == .exhausted([]))
    }

    @Test func aLimitAtZeroWithoutResetBlocksForTheDefaultWindow() {
        var p = pool([1])
        p.answered(0, status: 200, reading: RateLimitReading(remainingTokens: 0), retryAfterSeconds: nil, now: t0)
        #expect(p.snapshot(now: t0)[0].blockedUntil(now: t0) == t0.addingTimeInterval(10))
        #expect(p.snapshot(now: t0.addingTimeInterval(10))[0].remainingTokens == nil)
    }
}
