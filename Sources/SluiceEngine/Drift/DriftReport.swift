import Foundation
import SluiceCore
import SluiceStore

/// One metric compared between the recent window and the baseline.
public struct DriftShift: Sendable, Equatable {
    /// `schema_valid_rate`, `refusal_rate`, `error_rate`, `mean_output_tokens`, `p95_latency_ms`, `answered_model`.
    public var metric: String
    /// The baseline's value.
    public var baseline: Double?
    /// The recent window's value.
    public var current: Double?
    /// Whether the change is large and unlikely to be chance.
    public var significant: Bool
    /// A sentence for a person.
    public var note: String
}

/// `GET /admin/drift/{purpose}`: the last window (default 7 d) against the baseline
/// before it (default 30 d), overall and per answered model version, with daily
/// statistics and the shifts that are significant.
public struct DriftReport: Sendable {
    public var purpose: String
    public var windowStart: Date
    public var baselineStart: Date
    public var now: Date
    public var current: DriftStats
    public var baseline: DriftStats
    public var shifts: [DriftShift]
    /// The same comparison per answered model version seen in both windows.
    public var byModel: [(model: String, shifts: [DriftShift])] = []
    /// Model versions that answered in the window but never in the baseline (an unpinned alias moved).
    public var newModels: [String]
    /// Per UTC day and answered model version.
    public var daily: [(day: String, model: String, stats: DriftStats)]
    /// The latest eval score of the purpose, when evals ran.
    public var latestEvalScore: Double?

    /// The most calls read per window.
    static let limit = 200_000

    /// Builds the report from the store.
    public static func build(
        purpose: String, store: any DriftStore & EvalScoreStore, now: Date, window: TimeInterval, baseline: TimeInterval,
        centroid: (store: any CallStore, sample: Int, embed: InputCentroid.Embed)? = nil
    ) async throws -> DriftReport {
        let windowStart = now.addingTimeInterval(-window)
        let baselineStart = windowStart.addingTimeInterval(-baseline)
        let recent = try await store.callStats(purpose: purpose, from: windowStart, to: now, limit: limit)
        let before = try await store.callStats(purpose: purpose, from: baselineStart, to: windowStart, limit: limit)
        var current = DriftStats(recent)
        var base = DriftStats(before)
        current.measureFeedback(try await store.feedbackScores(purpose: purpose, from: windowStart, to: now))
        base.measureFeedback(try await store.feedbackScores(purpose: purpose, from: baselineStart, to: windowStart))
        var daily: [(String, String, DriftStats)] = []
        struct DayModel: Hashable { var day: String, model: String }
        let byDay = Dictionary(grouping: recent + before) { DayModel(day: String(Timestamp.iso8601($0.at).prefix(10)), model: $0.answeredModel ?? "none") }
        for (key, stats) in byDay.sorted(by: { ($0.key.day, $0.key.model) < ($1.key.day, $1.key.model) }) {
            daily.append((key.day, key.model, DriftStats(stats)))
        }
        let newModels = current.models.keys.filter { base.calls > 0 && base.models[$0] == nil }.sorted()
        var byModel: [(model: String, shifts: [DriftShift])] = []
        for model in current.models.keys.sorted() where base.models[model] != nil {
            let c = DriftStats(recent.filter { $0.answeredModel == model })
            let b = DriftStats(before.filter { $0.answeredModel == model })
            byModel.append((model, shifts(current: c, baseline: b, newModels: [])))
        }
        var all = shifts(current: current, baseline: base, newModels: newModels)
        if let centroid,
            let shift = try await InputCentroid.shift(
                purpose: purpose, store: centroid.store, windowStart: windowStart, baselineStart: baselineStart, now: now,
                sample: centroid.sample, embed: centroid.embed)
        {
            all.append(shift)
        }
        return DriftReport(
            purpose: purpose, windowStart: windowStart, baselineStart: baselineStart, now: now, current: current, baseline: base,
            shifts: all, byModel: byModel, newModels: newModels, daily: daily,
            latestEvalScore: EvalScheduler.latestScore(try await store.evalScores(purpose: purpose, limit: 100))?.passRate)
    }

    /// The compared metrics. A rate shift is significant when both sides have 30+ samples, the
    /// rates differ by 2+ points and a two-proportion z-test gives |z| ≥ 3; a mean or p95 when it
    /// moves by 20% (tokens, input length) or 50% (latency) with 30+ calls on each side; a mean
    /// sentiment or feedback score when it moves by 0.2 or more with 30+ samples on each side.
    static func shifts(current c: DriftStats, baseline b: DriftStats, newModels: [String]) -> [DriftShift] {
        var out: [DriftShift] = []
        func rate(_ metric: String, _ cur: Double?, _ nc: Int, _ base: Double?, _ nb: Int, higherIsWorse: Bool?) {
            guard let cur, let base else { return }
            let pooled = (cur * Double(nc) + base * Double(nb)) / Double(max(1, nc + nb))
            let se = (pooled * (1 - pooled) * (1 / Double(max(1, nc)) + 1 / Double(max(1, nb)))).squareRoot()
            let z = se > 0 ? (cur - base) / se : (cur == base ? 0 : .infinity)
            let significant = nc >= 30 && nb >= 30 && abs(cur - base) >= 0.02 && abs(z) >= 3
            let worse = higherIsWorse.map { $0 ? cur > base : cur < base }
            let verdict = worse.map { $0 ? " (worse)" : " (better)" } ?? " (shifted)"
            out.append(DriftShift(
                metric: metric, baseline: base, current: cur, significant: significant,
                note: "\(metric) \(pct(base)) → \(pct(cur))" + (significant ? verdict : "")))
        }
        rate("schema_valid_rate", c.schemaValidRate, c.schemaChecked, b.schemaValidRate, b.schemaChecked, higherIsWorse: false)
        rate("refusal_rate", c.refusalRate, c.refusalChecked, b.refusalRate, b.refusalChecked, higherIsWorse: true)
        rate("error_rate", c.errorRate, c.calls, b.errorRate, b.calls, higherIsWorse: true)
        func relative(_ metric: String, _ cur: Double?, _ base: Double?, threshold: Double) {
            guard let cur, let base, base > 0 else { return }
            let change = (cur - base) / base
            let significant = c.calls >= 30 && b.calls >= 30 && abs(change) >= threshold
            out.append(DriftShift(
                metric: metric, baseline: base, current: cur, significant: significant,
                note: "\(metric) \(Decimals.format(base, places: 1, trim: true)) → \(Decimals.format(cur, places: 1, trim: true)) (\(change >= 0 ? "+" : "")\(pct(change)))"))
        }
        relative("mean_output_tokens", c.meanOutputTokens, b.meanOutputTokens, threshold: 0.2)
        relative("p95_output_tokens", c.p95OutputTokens, b.p95OutputTokens, threshold: 0.2)
        relative("p95_latency_ms", c.p95LatencyMs, b.p95LatencyMs, threshold: 0.5)
        // Output sentiment, input length and script, tool calls and feedback (docs/drift.md).
        rate("negative_sentiment_rate", c.negativeSentimentRate, c.sentimentScored, b.negativeSentimentRate, b.sentimentScored, higherIsWorse: true)
        absolute("mean_sentiment", c.meanSentiment, c.sentimentScored, b.meanSentiment, b.sentimentScored, threshold: 0.2, into: &out)
        relative("mean_input_chars", c.meanInputChars, b.meanInputChars, threshold: 0.2)
        relative("p95_input_chars", c.p95InputChars, b.p95InputChars, threshold: 0.2)
        for script in ScriptClassifier.scripts where c.scriptMix[script] != nil || b.scriptMix[script] != nil {
            rate("script_share:\(script)", c.scriptMix[script] ?? 0, c.scriptsSeen, b.scriptMix[script] ?? 0, b.scriptsSeen, higherIsWorse: nil)
        }
        rate("tool_call_rate", c.toolCallRate, c.calls, b.toolCallRate, b.calls, higherIsWorse: nil)
        let newTools = c.tools.keys.filter { b.calls > 0 && b.tools[$0] == nil }.sorted()
        if !newTools.isEmpty {
            out.append(DriftShift(
                metric: "tools", baseline: nil, current: nil, significant: c.calls >= 30 && b.calls >= 30,
                note: "new tool(s) called: \(newTools.joined(separator: ", ")) (baseline: \(b.tools.keys.sorted().joined(separator: ", ")))"))
        }
        rate("feedback_negative_rate", c.negativeFeedbackRate, c.feedbackCount, b.negativeFeedbackRate, b.feedbackCount, higherIsWorse: true)
        absolute("mean_feedback", c.meanFeedback, c.feedbackCount, b.meanFeedback, b.feedbackCount, threshold: 0.2, into: &out)
        if !newModels.isEmpty {
            out.append(DriftShift(
                metric: "answered_model", baseline: nil, current: nil, significant: true,
                note: "provider drift: new model version \(newModels.joined(separator: ", ")) answered (baseline: \(b.models.keys.sorted().joined(separator: ", ")))"))
        }
        return out
    }

    /// A mean on a −1…1 scale: significant when it moves by `threshold` or more with 30+ samples on each side.
    static func absolute(
        _ metric: String, _ cur: Double?, _ nc: Int, _ base: Double?, _ nb: Int, threshold: Double, into out: inout [DriftShift]
    ) {
        guard let cur, let base else { return }
        let significant = nc >= 30 && nb >= 30 && abs(cur - base) >= threshold
        let f = { (v: Double) in Decimals.format(v, places: 2, trim: true) }
        out.append(DriftShift(
            metric: metric, baseline: base, current: cur, significant: significant,
            note: "\(metric) \(f(base)) → \(f(cur))" + (significant ? (cur < base ? " (worse)" : " (better)") : "")))
    }

    static func pct(_ r: Double) -> String { Decimals.format(r * 100, places: 1, trim: true) + "%" }

    /// The report as JSON.
    public var json: JSON {
        [
            "purpose": .string(purpose), "window": ["from": .string(Timestamp.iso8601(windowStart)), "to": .string(Timestamp.iso8601(now))],
            "baseline_window": ["from": .string(Timestamp.iso8601(baselineStart)), "to": .string(Timestamp.iso8601(windowStart))],
            "current": current.json, "baseline": baseline.json,
            "shifts": .array(shifts.map { s in
                ["metric": .string(s.metric), "baseline": s.baseline.map(JSON.double) ?? .null, "current": s.current.map(JSON.double) ?? .null,
                 "significant": .bool(s.significant), "note": .string(s.note)]
            }),
            "flagged": .array(shifts.filter(\.significant).map { .string($0.note) }),
            "flagged_by_model": .array(byModel.flatMap { m in m.shifts.filter(\.significant).map { JSON.string("\(m.model): \($0.note)") } }),
            "by_model": .array(byModel.map { m in
                ["model": .string(m.model), "shifts": .array(m.shifts.map { s in
                    ["metric": .string(s.metric), "baseline": s.baseline.map(JSON.double) ?? .null, "current": s.current.map(JSON.double) ?? .null,
                     "significant": .bool(s.significant), "note": .string(s.note)]
                })]
            }),
            "new_models": .array(newModels.map(JSON.string)),
            "latest_eval_score": latestEvalScore.map(JSON.double) ?? .null,
            "daily": .array(daily.map { d in
                var o = d.stats.json.objectValue ?? JSONObject()
                o["day"] = .string(d.day)
                o["model"] = .string(d.model)
                return .object(o)
            }),
        ]
    }
}
