/// What one classifier guard (`webhook`, `moderation`, `judge`) said about a call's input or
/// answer, kept in the call record with how long it took and what it cost.
public struct GuardVerdict: Sendable, Equatable {
    /// The rule's name.
    public var rule: String
    /// `input` or `output`.
    public var side: String
    /// `webhook`, `moderation` or `judge`.
    public var classifier: String
    /// `allow`, `flag`, `block`, `skipped` (not sampled) or `error` (failed open or closed; see `detail`).
    public var verdict: String
    /// Milliseconds the classifier took.
    public var latencyMs: Double
    /// What it cost (the judge's call); `nil` when free or unpriced.
    public var costUSD: Double?
    /// Why: the endpoint's reason, the categories over their thresholds, the judge's score, or the error.
    public var detail: String?

    /// A verdict; see the properties.
    public init(
        rule: String, side: String, classifier: String, verdict: String, latencyMs: Double, costUSD: Double? = nil, detail: String? = nil
    ) {
        self.rule = rule
        self.side = side
        self.classifier = classifier
        self.verdict = verdict
        self.latencyMs = latencyMs
        self.costUSD = costUSD
        self.detail = detail
    }

    /// The verdict as the API shows it.
    public var json: JSON {
        [
            "rule": .string(rule), "side": .string(side), "classifier": .string(classifier), "verdict": .string(verdict),
            "latency_ms": .double((latencyMs * 1000).rounded() / 1000), "cost_usd": costUSD.map(JSON.double) ?? .null,
            "detail": detail.map(JSON.string) ?? .null,
        ]
    }

    /// A verdict from its API JSON.
    public init?(json: JSON) {
        guard let rule = json["rule"]?.stringValue, let verdict = json["verdict"]?.stringValue else { return nil }
        self.init(
            rule: rule, side: json["side"]?.stringValue ?? "", classifier: json["classifier"]?.stringValue ?? "", verdict: verdict,
            latencyMs: json["latency_ms"]?.doubleValue ?? 0, costUSD: json["cost_usd"]?.doubleValue, detail: json["detail"]?.stringValue)
    }

    /// A list as stored (`nil` when empty).
    public static func encode(_ list: [GuardVerdict]) -> String? { list.isEmpty ? nil : JSON.array(list.map(\.json)).jsonString }

    /// A stored list.
    public static func decode(_ text: String?) -> [GuardVerdict] {
        text.flatMap { try? JSON.parse($0) }?.arrayValue?.compactMap(GuardVerdict.init(json:)) ?? []
    }
}
