import Foundation
import SluiceStore

extension DriftStats {
    /// The content statistics: output sentiment, input length and script, tool calls.
    mutating func measureContent(_ stats: [CallStat], answered: [CallStat]) {
        let scores = answered.compactMap(\.outputSentiment)
        sentimentScored = scores.count
        if !scores.isEmpty {
            meanSentiment = scores.reduce(0, +) / Double(scores.count)
            negativeSentimentRate = Double(scores.filter { $0 < 0 }.count) / Double(scores.count)
        }
        let lengths = stats.compactMap(\.inputChars).map(Double.init).sorted()
        inputMeasured = lengths.count
        if !lengths.isEmpty {
            meanInputChars = lengths.reduce(0, +) / Double(lengths.count)
            p95InputChars = Self.percentile(lengths, 0.95)
        }
        let scripts = stats.compactMap(\.inputScript)
        scriptsSeen = scripts.count
        for s in scripts { scriptMix[s, default: 0] += 1 }
        for (k, v) in scriptMix { scriptMix[k] = v / Double(scripts.count) }
        if !answered.isEmpty { toolCallRate = Double(answered.filter { !$0.tools.isEmpty }.count) / Double(answered.count) }
        for s in answered { for t in s.tools { tools[t, default: 0] += 1 } }
    }

    /// Sets the feedback figures from the window's scores (−1…1; below 0 is negative).
    mutating func measureFeedback(_ scores: [Double]) {
        feedbackCount = scores.count
        guard !scores.isEmpty else { return }
        meanFeedback = scores.reduce(0, +) / Double(scores.count)
        negativeFeedbackRate = Double(scores.filter { $0 < 0 }.count) / Double(scores.count)
    }
}
