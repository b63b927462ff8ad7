import Foundation
import SluiceCore
import SluiceStore

/// The statistics of one purpose's calls over one window (or one day, or one model version).
public struct DriftStats: Sendable, Equatable {
    /// Calls made.
    public var calls = 0
    /// Failed calls / calls (upstream failures, timeouts, degraded answers, rejected outputs).
    public var errorRate: Double?
    /// Schema-valid answers / answers with a schema.
    public var schemaValidRate: Double?
    /// Answers with a schema.
    public var schemaChecked = 0
    /// Refusals / answers judged.
    public var refusalRate: Double?
    /// Answers judged for refusal.
    public var refusalChecked = 0
    /// Mean output tokens of answered calls.
    public var meanOutputTokens: Double?
    /// 95th percentile of output tokens.
    public var p95OutputTokens: Double?
    /// Latency percentiles of answered calls.
    public var p50LatencyMs: Double?
    public var p95LatencyMs: Double?
    /// Mean feedback score (−1…1) of the window's calls that got feedback.
    public var meanFeedback: Double?
    /// Calls per answered model version.
    public var models: [String: Int] = [:]
    /// Answers scored for sentiment, their mean score (−1…1) and the share scoring below 0.
    public var sentimentScored = 0
    public var meanSentiment: Double?
    public var negativeSentimentRate: Double?
    /// Requests with a recorded length, their mean and 95th percentile in characters.
    public var inputMeasured = 0
    public var meanInputChars: Double?
    public var p95InputChars: Double?
    /// Share of requests per dominant script (`latin`, `cjk`, `cyrillic`, `arabic`, `other`), and how many had one.
    public var scriptMix: [String: Double] = [:]
    public var scriptsSeen = 0
    /// Answers that called at least one tool / answers; and calls per tool name.
    public var toolCallRate: Double?
    public var tools: [String: Int] = [:]
    /// Feedback given in the window: how many, and the share below 0 (set by the report).
    public var feedbackCount = 0
    public var negativeFeedbackRate: Double?

    /// Statistics of `calls`.
    public init(_ stats: [CallStat]) {
        calls = stats.count
        guard !stats.isEmpty else { return }
        errorRate = Double(stats.filter(Self.isFailure).count) / Double(stats.count)
        let answered = stats.filter { $0.status == "ok" }
        let checked = answered.compactMap(\.schemaValid)
        schemaChecked = checked.count
        if !checked.isEmpty { schemaValidRate = Double(checked.filter { $0 }.count) / Double(checked.count) }
        let judged = answered.compactMap(\.refusal)
        refusalChecked = judged.count
        if !judged.isEmpty { refusalRate = Double(judged.filter { $0 }.count) / Double(judged.count) }
        if !answered.isEmpty {
            let tokens = answered.map { Double($0.outputTokens) }.sorted()
            meanOutputTokens = tokens.reduce(0, +) / Double(tokens.count)
            p95OutputTokens = Self.percentile(tokens, 0.95)
            let latency = answered.map(\.latencyMs).sorted()
            p50LatencyMs = Self.percentile(latency, 0.5)
            p95LatencyMs = Self.percentile(latency, 0.95)
        }
        for s in stats { if let m = s.answeredModel { models[m, default: 0] += 1 } }
        measureContent(stats, answered: answered)
    }

    /// No calls.
    public init() {}

    /// Nearest-rank percentile of sorted values.
    static func percentile(_ sorted: [Double], _ q: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((q * Double(sorted.count)).rounded(.up))
        return sorted[max(0, min(sorted.count - 1, rank - 1))]
    }

    static func isFailure(_ s: CallStat) -> Bool {
        s.status == "degraded" || s.status == "stream_interrupted" || (s.status != "ok" && (s.httpStatus >= 500 || s.httpStatus == 422))
    }

    /// The statistics as JSON (rates 0…1, `null` when there was nothing to measure).
    public var json: JSON {
        func d(_ v: Double?) -> JSON { v.map { .double(($0 * 10_000).rounded() / 10_000) } ?? .null }
        return [
            "calls": .int(calls), "error_rate": d(errorRate), "schema_valid_rate": d(schemaValidRate), "schema_checked": .int(schemaChecked),
            "refusal_rate": d(refusalRate), "mean_output_tokens": d(meanOutputTokens), "p95_output_tokens": d(p95OutputTokens),
            "p50_latency_ms": d(p50LatencyMs), "p95_latency_ms": d(p95LatencyMs), "mean_feedback": d(meanFeedback),
            "models": .object(JSONObject(models.sorted { $0.key < $1.key }.map { ($0.key, JSON.int($0.value)) })),
            "sentiment_scored": .int(sentimentScored), "mean_sentiment": d(meanSentiment), "negative_sentiment_rate": d(negativeSentimentRate),
            "mean_input_chars": d(meanInputChars), "p95_input_chars": d(p95InputChars),
            "script_mix": .object(JSONObject(scriptMix.sorted { $0.key < $1.key }.map { ($0.key, d($0.value)) })),
            "tool_call_rate": d(toolCallRate), "tools": .object(JSONObject(tools.sorted { $0.key < $1.key }.map { ($0.key, JSON.int($0.value)) })),
            "feedback_count": .int(feedbackCount), "negative_feedback_rate": d(negativeFeedbackRate),
        ]
    }
}
