import Foundation
import SluiceCore

/// Synthetic but plausible call records for `sluice dev-seed`: purposes of uneven traffic,
/// several models and providers, about 3 % failures, cache hits, schema checks, shadow runs,
/// log-normal latencies and token counts, and costs from per-model prices. Deterministic for a seed.
struct SeedCalls {
    struct Model {
        let name: String
        let provider: String
        let answered: String
        let inputPerM: Double
        let outputPerM: Double
        let medianMs: Double
    }

    static let models = [
        Model(name: "fast", provider: "openai", answered: "gpt-4o-mini-2024-07-18", inputPerM: 0.15, outputPerM: 0.6, medianMs: 650),
        Model(name: "smart", provider: "openai", answered: "gpt-4o-2024-08-06", inputPerM: 2.5, outputPerM: 10, medianMs: 1400),
        Model(name: "claude-fast", provider: "anthropic", answered: "claude-3-5-haiku-20241022", inputPerM: 0.8, outputPerM: 4, medianMs: 800),
        Model(name: "claude", provider: "anthropic", answered: "claude-3-5-sonnet-20241022", inputPerM: 3, outputPerM: 15, medianMs: 1900),
        Model(name: "gemini-flash", provider: "gemini", answered: "gemini-1.5-flash-002", inputPerM: 0.075, outputPerM: 0.3, medianMs: 550),
    ]
    static let names = [
        "support-triage", "summarize", "extract-invoice", "classify-intent", "chat", "translate", "rerank", "code-review",
    ]

    let purposes: [String]
    /// Cumulative traffic weights (Zipf-like: the first purpose is busiest).
    let weights: [Double]
    let start: Date
    let span: TimeInterval
    let total: Int
    var rng: SplitMix64

    /// `total` calls spread evenly (with jitter) over the `days` before `now`.
    init(total: Int, days: Int, purposes count: Int, now: Date, seed: UInt64) {
        purposes = (0..<count).map { $0 < Self.names.count ? Self.names[$0] : "purpose-\($0 + 1)" }
        var sum = 0.0
        weights = (0..<count).map { i in
            sum += 1 / Double(i + 1)
            return sum
        }
        span = Double(days) * 86_400
        start = now.addingTimeInterval(-span)
        self.total = total
        rng = SplitMix64(seed: seed)
    }

    /// Records `range` of the run, oldest first: record `i` is placed at `i / total` of the span.
    mutating func records(_ range: Range<Int>) -> [CallRecord] {
        var out: [CallRecord] = []
        out.reserveCapacity(range.count)
        var i = range.lowerBound
        while i < range.upperBound {
            let r = call(at: start.addingTimeInterval(span * (Double(i) + rng.unit()) / Double(total)))
            out.append(r)
            i += 1
            // Some live calls of the busiest purpose are shadowed by another model.
            if r.purpose == purposes[0], i < range.upperBound, rng.unit() < 0.05 {
                out.append(shadow(of: r))
                i += 1
            }
        }
        return out
    }

    private mutating func purpose() -> String {
        let x = rng.unit() * weights[weights.count - 1]
        return purposes[weights.firstIndex { x < $0 } ?? purposes.count - 1]
    }

    private mutating func call(at: Date, purpose forced: String? = nil, model forcedModel: Int? = nil) -> CallRecord {
        let purpose = forced ?? purpose()
        let p = purposes.firstIndex(of: purpose) ?? 0
        let model = Self.models[forcedModel ?? (rng.unit() < 0.8 ? p % Self.models.count : (p + 1) % Self.models.count)]
        var r = CallRecord(callID: callID(at), createdAt: at, purpose: purpose, model: model.name, inputHash: hash())
        r.provider = model.provider
        r.answeredModel = model.answered
        r.keyName = "key-\(p % 3)"
        r.user = rng.unit() < 0.6 ? "user-\(rng.below(5000))" : nil
        r.runID = rng.unit() < 0.1 ? "run-\(rng.below(2000))" : nil
        r.stream = rng.unit() < 0.3
        r.params = ["temperature": .double(p % 2 == 0 ? 0 : 0.7)]
        let input = Int(logNormal(median: 800, sigma: 0.8).rounded()) + 20
        let output = Int(logNormal(median: 180, sigma: 0.9).rounded()) + 1
        r.usage = Usage(inputTokens: input, outputTokens: output, cachedTokens: rng.unit() < 0.2 ? input / 2 : 0)
        let cost = (Double(input) * model.inputPerM + Double(output) * model.outputPerM) / 1_000_000
        var latency = logNormal(median: model.medianMs * (1 + Double(output) / 600), sigma: 0.55)
        let roll = rng.unit()
        if roll < 0.08 || (roll < 0.10 && p % 4 == 0) {  // cache hit
            r.cache = roll < 0.08 ? "hit" : "semantic_hit"
            r.cacheSimilarity = r.cache == "semantic_hit" ? 0.95 + 0.05 * rng.unit() : nil
            r.costUSD = 0
            r.savedUSD = cost
            latency = logNormal(median: 4, sigma: 0.5)
        } else {
            r.cache = "miss"
            r.costUSD = cost
            r.attempts = [Attempt(provider: model.provider, model: model.answered, status: 200, latencyMs: latency * 0.97, error: nil)]
        }
        let fail = rng.unit()
        if fail < 0.03 && r.cache == "miss" {
            r.status = fail < 0.024 ? .error : fail < 0.027 ? .streamInterrupted : .degraded
            r.httpStatus = r.status == .error ? [502, 429, 500, 504][rng.below(4)] : 200
            r.error = r.status == .error ? "upstream returned \(r.httpStatus)" : "stream ended early"
            r.costUSD = r.status == .error ? nil : cost
            r.attempts = [Attempt(provider: model.provider, model: model.answered, status: r.httpStatus, latencyMs: latency, error: r.error)]
            if r.status == .error { latency = min(latency * 3, 30_000) }
        }
        r.latencyMs = latency
        r.overheadMs = 0.3 + rng.unit()
        r.ttftMs = r.stream ? latency * 0.3 : nil
        r.refusal = rng.unit() < 0.005
        if purpose.hasPrefix("extract") || purpose.hasPrefix("classify") { r.schemaValid = rng.unit() < 0.96 }
        return r
    }

    private mutating func shadow(of live: CallRecord) -> CallRecord {
        let other = (Self.models.firstIndex { $0.name == live.model } ?? 0) + 1
        var s = call(at: live.createdAt.addingTimeInterval(0.001), purpose: purposes[0], model: other % Self.models.count)
        s.purpose = live.purpose + ":shadow"
        s.shadowOf = live.callID
        return s
    }

    private mutating func logNormal(median: Double, sigma: Double) -> Double {
        // Box–Muller.
        let u = max(rng.unit(), 1e-12)
        let z = (-2 * log(u)).squareRoot() * cos(2 * .pi * rng.unit())
        return median * exp(sigma * z)
    }

    private mutating func callID(_ at: Date) -> String {
        let ms = UInt64(max(0, at.timeIntervalSince1970 * 1000))
        return "call_" + hex(ms & 0xFFFF_FFFF_FFFF, 12) + hex(rng.next(), 16)
    }

    private mutating func hash() -> String { (0..<4).map { _ in hex(rng.next(), 16) }.joined() }

    private func hex(_ v: UInt64, _ digits: Int) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, digits - s.count)) + s
    }
}

/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A uniform double in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    /// A uniform integer in [0, n).
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
