import Foundation
import SluiceCore

/// A guard rule that asks something outside the regexes whether a text passes: a webhook of
/// the operator's, a configured provider's moderation endpoint, or an LLM judge with a rubric.
/// Its verdict (`allow`, `flag`, `block`) applies the rule's `action` at most: a `flag` rule
/// never blocks. Each verdict is kept in the call record with its latency and cost.
public enum GuardClassifier: Sendable {
    /// `webhook: {url, timeout_ms, on_error}`: `POST url` with `{"text", "side", "purpose",
    /// "rule", "call_id"}`; the answer `{"verdict": "allow"|"flag"|"block", "reason"?}`.
    case webhook(Webhook)
    /// `moderation: {model, provider?, categories?}`: the model's `/moderations` answer; a
    /// category at or over its threshold (any flagged category without `categories`) violates.
    case moderation(Moderation)
    /// `judge: {model, rubric, min, sample}`: an LLM scores the text 0–1 against the rubric;
    /// under `min` violates. `sample` (0–1, default 1) is the share of calls judged.
    case judge(Judge)

    /// What happens when the classifier cannot answer (timeout, error, a bad answer).
    public enum OnError: String, Sendable {
        /// The text passes; the verdict is recorded as `error`.
        case open
        /// The rule's action applies, as if it had matched.
        case closed
    }

    /// A webhook classifier.
    public struct Webhook: Sendable {
        /// Where the text is posted.
        public var url: String
        /// How long the endpoint may take.
        public var timeout: Duration = .seconds(2)
        /// What an unanswered or unusable call means.
        public var onError: OnError = .open
    }

    /// A moderation classifier.
    public struct Moderation: Sendable {
        /// The configured model whose first target's provider serves `/moderations`.
        public var model: String
        /// Category → threshold (0–1); empty uses the endpoint's own `flagged`.
        public var categories: [String: Double] = [:]
        /// How long the endpoint may take.
        public var timeout: Duration = .seconds(5)
        /// What an unanswered or unusable call means.
        public var onError: OnError = .open
    }

    /// An LLM-judge classifier.
    public struct Judge: Sendable {
        /// The configured model that judges.
        public var model: String
        /// What a passing text does.
        public var rubric: String
        /// The lowest passing score (0–1).
        public var min: Double = 0.7
        /// The share of calls judged (0–1).
        public var sample: Double = 1
        /// How long the judge may take.
        public var timeout: Duration = .seconds(30)
        /// What an unanswered or unusable call means.
        public var onError: OnError = .open
    }

    /// `webhook`, `moderation` or `judge`.
    public var kind: String {
        switch self {
        case .webhook: "webhook"
        case .moderation: "moderation"
        case .judge: "judge"
        }
    }

    var onError: OnError {
        switch self {
        case .webhook(let w): w.onError
        case .moderation(let m): m.onError
        case .judge(let j): j.onError
        }
    }
}

extension ConfigLoader {
    /// The classifier of a guard rule (`webhook`, `moderation` or `judge`), from its mapping node.
    static func parseClassifier(_ kind: String, _ v: ConfigNode, rule: String) throws -> GuardClassifier {
        func timeoutAndOnError(_ k: String, _ x: ConfigNode, timeout: inout Duration, onError: inout GuardClassifier.OnError) throws -> Bool {
            switch k {
            case "timeout_ms":
                let ms = try x.int()
                guard (1...600_000).contains(ms) else { throw x.error("guard '\(rule)': timeout_ms must be 1…600000") }
                timeout = .milliseconds(ms)
            case "on_error":
                let text = try x.string()
                guard let e = GuardClassifier.OnError(rawValue: text) else {
                    throw x.error("guard '\(rule)': on_error must be open (pass the text) or closed (apply the rule); got '\(text)'")
                }
                onError = e
            default: return false
            }
            return true
        }
        switch kind {
        case "webhook":
            var w = GuardClassifier.Webhook(url: "")
            for (k, x) in try v.mapping(allowed: ["url", "timeout_ms", "on_error"]) where !(try timeoutAndOnError(k, x, timeout: &w.timeout, onError: &w.onError)) {
                w.url = try x.string()
                guard let url = URL(string: w.url), ["http", "https"].contains(url.scheme ?? "") else {
                    throw x.error("guard '\(rule)': webhook url must be an http(s) URL; got '\(w.url)'")
                }
            }
            guard !w.url.isEmpty else { throw v.error("guard '\(rule)': webhook needs a url") }
            return .webhook(w)
        case "moderation":
            var m = GuardClassifier.Moderation(model: "")
            for (k, x) in try v.mapping(allowed: ["model", "categories", "timeout_ms", "on_error"])
            where !(try timeoutAndOnError(k, x, timeout: &m.timeout, onError: &m.onError)) {
                if k == "model" { m.model = try x.string() } else {
                    for (category, t) in try x.mapping() {
                        let threshold = try t.double()
                        guard (0...1).contains(threshold) else { throw t.error("guard '\(rule)': category thresholds are 0…1") }
                        m.categories[category] = threshold
                    }
                }
            }
            guard !m.model.isEmpty else { throw v.error("guard '\(rule)': moderation needs a model (a configured model on an openai provider)") }
            return .moderation(m)
        case "judge":
            var j = GuardClassifier.Judge(model: "", rubric: "")
            for (k, x) in try v.mapping(allowed: ["model", "rubric", "min", "sample", "timeout_ms", "on_error"])
            where !(try timeoutAndOnError(k, x, timeout: &j.timeout, onError: &j.onError)) {
                switch k {
                case "model": j.model = try x.string()
                case "rubric": j.rubric = try x.string()
                case "min", "sample":
                    let d = try x.double()
                    guard (0...1).contains(d) else { throw x.error("guard '\(rule)': \(k) must be 0…1") }
                    if k == "min" { j.min = d } else { j.sample = d }
                default: break
                }
            }
            guard !j.model.isEmpty, !j.rubric.isEmpty else { throw v.error("guard '\(rule)': judge needs a model and a rubric") }
            return .judge(j)
        default:
            throw v.error("guard '\(rule)': unknown classifier '\(kind)'")
        }
    }
}
