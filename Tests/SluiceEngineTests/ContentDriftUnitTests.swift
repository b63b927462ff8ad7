import Foundation
@testable import SluiceEngine
import SluiceStore
import Testing

/// The sentiment scorer and the script classifier that input and output drift read.
@Suite struct ContentDriftUnitTests {
    @Test func sentimentScoresFromTheLexicon() {
        #expect(SentimentScorer.score("This is great, thanks! A wonderful, helpful answer.") == 1)
        #expect(SentimentScorer.score("Unfortunately the upload failed with a terrible error.") == -1)
        #expect(SentimentScorer.score("The meeting is at 10:00 in room 4.") == 0)
        #expect(SentimentScorer.score("") == 0)
        // One of each cancels; negation within two words flips.
        #expect(SentimentScorer.score("good but slow") == 0)
        #expect(SentimentScorer.score("This is not good") == -1)
        #expect(SentimentScorer.score("It isn't bad at all") == 1)
        #expect(SentimentScorer.score("It ISN'T BAD at all") == 1)
        #expect(SentimentScorer.score("Das Ergebnis: GREAT, très helpful") == 1)
        #expect(SentimentScorer.score("never really helpful") == -1)
        #expect(SentimentScorer.score("Not now. The result is good") == 1, "a negation reaches two words only")
        let s = SentimentScorer.score("good good bad")
        #expect(abs(s - 1.0 / 3.0) < 1e-9)
        // Deterministic, and in range for any text.
        for text in ["Great GREAT great", "😀 bad", "добрый день", "很好"] {
            let v = SentimentScorer.score(text)
            #expect(v >= -1 && v <= 1 && v == SentimentScorer.score(text))
        }
        #expect(SentimentScorer.positive.isDisjoint(with: SentimentScorer.negative))
        #expect(SentimentScorer.positive.count + SentimentScorer.negative.count >= 200)
    }

    @Test func scriptsAreToldApart() {
        #expect(ScriptClassifier.dominant("Hello, world! Ça va?") == "latin")
        #expect(ScriptClassifier.dominant("Привет, как дела?") == "cyrillic")
        #expect(ScriptClassifier.dominant("مرحبا كيف حالك") == "arabic")
        #expect(ScriptClassifier.dominant("今日は良い天気ですね") == "cjk")
        #expect(ScriptClassifier.dominant("안녕하세요") == "cjk")
        #expect(ScriptClassifier.dominant("Γειά σου κόσμε") == "other")
        #expect(ScriptClassifier.dominant("12345 !?") == nil)
        #expect(ScriptClassifier.dominant("ok 東京都庁") == "cjk", "most letters win")
        #expect(ScriptClassifier.counts("ab вг 1") == ["latin": 2, "cyrillic": 2])
        #expect(ScriptClassifier.dominant("ab вг") == "latin", "a tie goes to the earlier script")
    }

    @Test func statsMeasureContent() {
        func stat(_ sentiment: Double?, chars: Int, script: String, tools: [String] = []) -> CallStat {
            var s = CallStat(
                at: Date(), answeredModel: "m", status: "ok", httpStatus: 200, outputTokens: 1, latencyMs: 1, schemaValid: nil, refusal: nil)
            s.outputSentiment = sentiment
            s.inputChars = chars
            s.inputScript = script
            s.tools = tools
            return s
        }
        var d = DriftStats([
            stat(0.5, chars: 100, script: "latin", tools: ["lookup"]), stat(-0.5, chars: 300, script: "latin"),
            stat(nil, chars: 200, script: "cjk", tools: ["lookup", "book"]), stat(-1, chars: 400, script: "latin"),
        ])
        #expect(d.sentimentScored == 3 && d.meanSentiment == -1.0 / 3.0 && d.negativeSentimentRate == 2.0 / 3.0)
        #expect(d.meanInputChars == 250 && d.p95InputChars == 400)
        #expect(d.scriptMix == ["latin": 0.75, "cjk": 0.25])
        #expect(d.toolCallRate == 0.5 && d.tools == ["lookup": 2, "book": 1])
        d.measureFeedback([1, -1, -0.5, 0.5])
        #expect(d.feedbackCount == 4 && d.meanFeedback == 0 && d.negativeFeedbackRate == 0.5)
    }
}

extension ContentDriftUnitTests {
    @Test func measuringInputsCountsAllAndSamplesTheScript() {
        let m = ScriptClassifier.measure(["Привет", "hi", ""])
        #expect(m.chars == 8 && m.script == "cyrillic")
        #expect(ScriptClassifier.measure(["123"]) == (3, nil))
        // Only the first letters decide the script; every character counts.
        let long = String(repeating: "a", count: ScriptClassifier.sampleLetters) + String(repeating: "я", count: 10_000)
        #expect(ScriptClassifier.measure([long]) == (ScriptClassifier.sampleLetters + 10_000, "latin"))
        // A very long answer is scored on its beginning.
        #expect(SentimentScorer.score(String(repeating: "x ", count: SentimentScorer.maxChars) + "terrible") == 0)
    }
}
