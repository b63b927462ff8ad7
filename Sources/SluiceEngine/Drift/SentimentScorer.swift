// Sentiment lexicon and scorer: written for Sluice and distributed under the project's own
// licence, like the rest of this repository. The word lists below are original (not taken
// from AFINN, VADER or any other published lexicon). See docs/drift.md#sentiment.
import Foundation

/// A deterministic, in-process sentiment score for an answer: the lexicon's positive and
/// negative words counted (a negation within the two words before flips one), giving
/// `(positive − negative) / (positive + negative)` in −1…1, and 0 for text with neither.
/// Good enough to notice an answer distribution turning sour, not to judge one answer.
public enum SentimentScorer {
    /// Words that read as positive.
    public static let positive: Set<String> = [
        "able", "accurate", "achieve", "achieved", "admire", "agree", "amazing", "appreciate", "appreciated", "awesome",
        "beautiful", "benefit", "best", "better", "brilliant", "calm", "capable", "celebrate", "charming", "cheerful",
        "clean", "clear", "comfortable", "confident", "congratulations", "convenient", "cool", "correct", "delight",
        "delighted", "delightful", "dependable", "easy", "effective", "efficient", "elegant", "enjoy", "enjoyed",
        "enthusiastic", "excellent", "exceptional", "excited", "exciting", "fair", "fantastic", "fast", "favorite",
        "fine", "fortunate", "free", "friendly", "fun", "generous", "glad", "good", "gorgeous", "grateful", "great",
        "happy", "healthy", "helpful", "honest", "hope", "ideal", "impressive", "improve", "improved", "improvement",
        "incredible", "innovative", "inspiring", "interesting", "kind", "like", "love", "loved", "lovely", "lucky",
        "nice", "optimistic", "outstanding", "perfect", "pleasant", "pleased", "polite", "popular", "positive",
        "powerful", "pretty", "proud", "quick", "recommend", "reliable", "relief", "remarkable", "resolved", "robust",
        "safe", "satisfied", "secure", "simple", "smooth", "solid", "splendid", "stable", "strong", "success",
        "successful", "superb", "support", "supportive", "sure", "thank", "thanks", "thrilled", "trust", "useful",
        "valuable", "welcome", "well", "win", "wonderful", "worth",
    ]

    /// Words that read as negative.
    public static let negative: Set<String> = [
        "abandon", "abuse", "afraid", "angry", "annoyed", "annoying", "anxious", "apologize", "awful", "bad",
        "broken", "bug", "careless", "complain", "complaint", "confused", "confusing", "crash", "crashed", "cruel",
        "damage", "damaged", "dangerous", "dead", "defect", "delay", "delayed", "deny", "depressed", "difficult",
        "dirty", "disappointed", "disappointing", "disaster", "disgusting", "dislike", "dreadful", "dull", "error",
        "fail", "failed", "failure", "fake", "fault", "faulty", "fear", "frustrated", "frustrating", "guilty", "harm",
        "harmful", "hate", "hated", "horrible", "hostile", "hurt", "ignore", "ill", "impossible", "inaccurate",
        "incorrect", "inferior", "insecure", "invalid", "lose", "loss", "lost", "mess", "miserable", "missing",
        "mistake", "negative", "nervous", "noisy", "offensive", "pain", "painful", "poor", "problem", "refuse",
        "refused", "regret", "reject", "rejected", "rude", "sad", "scam", "scared", "slow", "sorry", "stupid",
        "suffer", "terrible", "threat", "tired", "trouble", "ugly", "unable", "unacceptable", "unfair", "unfortunately",
        "unhappy", "unhelpful", "unreliable", "unsafe", "upset", "useless", "violent", "waste", "weak", "worried",
        "worse", "worst", "wrong",
    ]

    /// Words that flip the sentiment of a lexicon word within the next two words.
    public static let negations: Set<String> = ["not", "no", "never", "none", "nothing", "neither", "nor", "without", "cannot"]

    /// The most characters of an answer scored (its beginning): a long answer costs no more.
    public static let maxChars = 16_384

    /// The score of `text` (its first ``maxChars`` characters) in −1…1.
    public static func score(_ text: String) -> Double {
        var pos = 0
        var neg = 0
        var sinceNegation = Int.max
        for raw in text.prefix(maxChars).lowercased().split(whereSeparator: { !$0.isLetter && $0 != "'" }) {
            var word = Substring(raw.trimmingCharacters(in: CharacterSet(charactersIn: "'")))
            if word.hasSuffix("n't") {
                sinceNegation = 0
                continue
            }
            if word.hasSuffix("'s") { word = word.dropLast(2) }
            let w = String(word)
            if negations.contains(w) {
                sinceNegation = 0
                continue
            }
            let negated = sinceNegation < 2
            sinceNegation = sinceNegation == Int.max ? .max : sinceNegation + 1
            if positive.contains(w) {
                if negated { neg += 1 } else { pos += 1 }
            } else if negative.contains(w) {
                if negated { pos += 1 } else { neg += 1 }
            }
        }
        guard pos + neg > 0 else { return 0 }
        return Double(pos - neg) / Double(pos + neg)
    }
}
