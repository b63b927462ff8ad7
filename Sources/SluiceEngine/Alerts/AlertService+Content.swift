import Foundation
import SluiceCore
import SluiceStore

extension AlertService {
    /// `feedback_negative_rate`, `sentiment_shift` and `input_length_shift` for one purpose: the value and a sentence,
    /// or `nil` when the window has fewer than `min_calls` samples (or the baseline, for a shift).
    func measureContent(_ rule: AlertRule, purpose: String, label: String, now: Date, end: Date) async throws -> (Double, String)? {
        let start = now.addingTimeInterval(-rule.windowSeconds)
        switch rule.metric {
        case .feedbackNegativeRate:
            let scores = try await store.feedbackScores(purpose: purpose, from: start, to: end)
            guard scores.count >= rule.minCalls else { return nil }
            let rate = Double(scores.filter { $0 < 0 }.count) / Double(scores.count)
            return (rate, "Negative feedback on \(label) is \(Self.fmt(rate * 100))% of the \(scores.count) scores given in \(Self.span(rule.windowSeconds)).")
        case .sentimentShift, .inputLengthShift:
            let recent = DriftStats(try await store.callStats(purpose: purpose, from: start, to: end, limit: 100_000))
            let base = DriftStats(try await store.callStats(purpose: purpose, from: start.addingTimeInterval(-30 * 86_400), to: start, limit: 100_000))
            if rule.metric == .inputLengthShift {
                guard recent.inputMeasured >= rule.minCalls, base.inputMeasured >= rule.minCalls,
                    let cur = recent.meanInputChars, let old = base.meanInputChars, old > 0
                else { return nil }
                let change = (cur - old) / old * 100
                return (change, "Mean input length of \(label) moved \(Self.fmt(change))% (\(Self.fmt(old)) → \(Self.fmt(cur)) characters) against the 30 days before.")
            }
            guard recent.sentimentScored >= rule.minCalls, base.sentimentScored >= rule.minCalls,
                let cur = recent.meanSentiment, let old = base.meanSentiment
            else { return nil }
            let shift = cur - old
            let f = { (v: Double) in Decimals.format(v, places: 2, trim: true) }
            return (shift, "Mean output sentiment of \(label) moved \(f(shift)) (\(f(old)) → \(f(cur))) against the 30 days before.")
        default:
            return nil
        }
    }

    /// A window in minutes, hours or days for a sentence.
    static func span(_ seconds: Double) -> String {
        if seconds >= 86_400 { return fmt(seconds / 86_400) + " d" }
        if seconds >= 3600 { return fmt(seconds / 3600) + " h" }
        return fmt(seconds / 60) + " min"
    }
}
