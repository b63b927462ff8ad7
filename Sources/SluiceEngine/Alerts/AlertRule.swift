import Foundation

/// One `alerts.rules` entry.
public struct AlertRule: Sendable, Equatable {
    /// What is watched.
    public enum Metric: String, Sendable, CaseIterable {
        /// Today's spend of a purpose divided by its daily average over the 30 days before.
        case spendVs30dAvg = "spend_vs_30d_avg"
        /// Today's spend, of a purpose or of everything.
        case dailySpendUSD = "daily_spend_usd"
        /// Failed calls / calls over `window`.
        case errorRate = "error_rate"
        /// A purpose's daily budget refused a call today (1) or not (0).
        case breakerTripped = "breaker_tripped"
        /// Today's spend of a purpose as a percentage of its daily budget.
        case budgetUsedPct = "budget_used_pct"
        /// Answers valid against their schema / answers with a schema, over `window`.
        case schemaValidRate = "schema_valid_rate"
        /// Refusals / answers judged, over `window` (per purpose).
        case refusalRate = "refusal_rate"
        /// Mean output tokens over `window` against the 30 days before, as a change in percent (per purpose).
        case outputTokensShift = "output_tokens_shift"
        /// The pass rate (0…1) of the purpose's latest scheduled eval run (`evals:`).
        case evalScore = "eval_score"
        /// Negative feedback (score below 0) / feedback given, on calls made over `window` (per purpose).
        case feedbackNegativeRate = "feedback_negative_rate"
        /// Mean output sentiment (−1…1) over `window` minus its mean over the 30 days before (per purpose);
        /// a sour turn is negative, so use `below`, such as `below: -0.2`.
        case sentimentShift = "sentiment_shift"
        /// Mean input length (characters) over `window` against the 30 days before, as a change in percent (per purpose).
        case inputLengthShift = "input_length_shift"
    }

    /// The metric.
    public var metric: Metric
    /// `nil`: everything together; `*`: each purpose on its own; a name: that purpose.
    public var purpose: String?
    /// Fires when the value is above this…
    public var above: Double?
    /// …or below this.
    public var below: Double?
    /// The window of rate metrics (`error_rate`, `schema_valid_rate`); default 15 minutes.
    public var windowSeconds: Double = 900
    /// Rates need at least this many calls in the window to fire.
    public var minCalls = 5

    /// A rule on `metric`; set a threshold.
    public init(metric: Metric) { self.metric = metric }

    /// `metric purpose>above` for logs and audit entries.
    public var name: String {
        "\(metric.rawValue)[\(purpose ?? "all")]" + (above.map { ">\($0)" } ?? "") + (below.map { "<\($0)" } ?? "")
    }

    /// Whether `value` crosses the threshold.
    public func fires(_ value: Double) -> Bool {
        if let above, value > above { return true }
        if let below, value < below { return true }
        return false
    }
}

/// The `alerts:` section.
public struct AlertsConfig: Sendable {
    /// Where alerts are posted (Slack-compatible JSON with a `text` line); `nil` logs only.
    public var webhook: String?
    /// The rules.
    public var rules: [AlertRule] = []
    /// How often the rules are evaluated.
    public var intervalSeconds: Double = 60

    /// No webhook, no rules.
    public init() {}
}
