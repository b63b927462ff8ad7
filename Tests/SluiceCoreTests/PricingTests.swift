import Testing
@testable import SluiceCore

@Suite struct PricingTests {
    @Test func datedIdsFallBackToTheirFamily() {
        let t = PriceTable()
        #expect(t.price(for: "gpt-4o-mini-2024-07-18") == t.price(for: "gpt-4o-mini"))
        #expect(t.price(for: "claude-3-5-haiku-20241022")?.input == 0.80)
        #expect(t.price(for: "gpt-4o-2024-05-13")?.input == 5.00)
        #expect(t.price(for: "openai/gpt-4o")?.input == 2.50)
        #expect(t.price(for: "my-private-model") == nil)
    }

    @Test func costCountsCachedAndWrittenTokensAtTheirPrices() {
        let p = ModelPrice(input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75)
        let usage = Usage(inputTokens: 1_000_000, outputTokens: 100_000, cachedTokens: 200_000, cacheWriteTokens: 100_000)
        // 700k plain × 3 + 200k × 0.3 + 100k × 3.75 + 100k × 15, per million
        #expect(abs(p.cost(of: usage) - (2.1 + 0.06 + 0.375 + 1.5)) < 1e-9)
    }

    @Test func overridesWinAndUnpricedIsNil() {
        let t = PriceTable(overrides: ["gpt-4o-mini-2024-07-18": ModelPrice(input: 1, output: 2), "my-deploy": ModelPrice(input: 7, output: 7)])
        #expect(t.price(target: "gpt-4o-mini-2024-07-18", answered: nil)?.input == 1)
        #expect(t.price(target: "unknown-x", answered: "unknown-y") == nil)
        // An override on the target id wins over the built-in price of what answered.
        #expect(t.price(target: "my-deploy", answered: "gpt-4o-2024-08-06")?.input == 7)
        // The pinned answered model beats the target's family price.
        #expect(t.price(target: "gpt-4o", answered: "gpt-4o-2024-05-13")?.input == 5)
        // A target with no price stays unpriced even if the answer names a priced family only by alias.
        #expect(PriceTable().price(target: "llama3", answered: "llama3:8b") == nil)
    }

    @Test func secretsAreScrubbed() {
        let text = "Incorrect API key provided: sk-proj-****abcd. Key my-provider-key-123 rejected; sk-x stays"
        let out = SecretScrubber.scrub(text, known: ["my-provider-key-123"])
        #expect(!out.contains("abcd"))
        #expect(!out.contains("my-provider-key-123"))
        #expect(out.contains("sk-x stays"))
    }

    @Test func sinceParsesDurationsAndTimes() {
        let now = Date(timeIntervalSince1970: 1_000_000)
        #expect(SinceParser.parse("1h", now: now) == Date(timeIntervalSince1970: 1_000_000 - 3600))
        #expect(SinceParser.parse("7d", now: now) == Date(timeIntervalSince1970: 1_000_000 - 604_800))
        #expect(SinceParser.parse("2026-01-02T03:04:05Z", now: now) != nil)
        #expect(SinceParser.parse("yesterday", now: now) == nil)
        #expect(SinceParser.parse("1e16s", now: now) == nil)
        #expect(SinceParser.parse("infs", now: now) == nil)
        #expect(SinceParser.parse("-5m", now: now) == nil)
    }

    @Test func callIDsSortByTime() {
        let a = IDs.callID(at: Date(timeIntervalSince1970: 100))
        let b = IDs.callID(at: Date(timeIntervalSince1970: 101))
        #expect(a < b)
        #expect(a.hasPrefix("call_"))
    }

    /// The random half stays random across refills of the pooled randomness: no repeats, every hex digit used.
    @Test func callIDsRandomBitsDoNotRepeatAcrossRefills() {
        let at = Date(timeIntervalSince1970: 100)
        let ids = (0..<5_000).map { _ in IDs.callID(at: at) }
        #expect(Set(ids).count == ids.count)
        let tails = ids.map { $0.suffix(16) }
        #expect(Set(tails.joined()).count == 16)
    }
}

import Foundation

@Suite struct TimestampTests {
    @Test func formatsUTCWithMilliseconds() {
        #expect(Timestamp.iso8601(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.iso8601(Date(timeIntervalSince1970: 1_795_430_214.0791)) == "2026-11-23T10:36:54.079Z")
        let d = Date(timeIntervalSince1970: 1_700_000_000.5)
        #expect(Timestamp.iso8601(d) == d.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted)))
    }
}

@Suite struct DecimalsTests {
    @Test(arguments: [
        (0.000435, 8, true, "0.000435"), (2.0, 8, true, "2"), (0.0000237, 8, true, "0.0000237"), (0, 8, true, "0"),
        (0.4218, 3, false, "0.422"), (12.0, 3, false, "12.000"), (-1.5, 2, false, "-1.50"), (1e-9, 8, true, "0"),
    ] as [(Double, Int, Bool, String)])
    func formats(value: Double, places: Int, trim: Bool, expected: String) {
        #expect(Decimals.format(value, places: places, trim: trim) == expected)
    }
}
