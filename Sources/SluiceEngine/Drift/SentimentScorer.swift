// Sentiment lexicon and scorer: written for Sluice and distributed under the project's own
// licence, like the rest of this repository. The word lists below are original (not taken
// from AFINN, VADER or any other published lexicon). See docs/drift.md#sentiment.

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

    /// Every lexicon word: `1` positive, `-1` negative, `0` a negation.
    static let lexicon: [String: Int8] = {
        var out: [String: Int8] = [:]
        for w in positive { out[w] = 1 }
        for w in negative { out[w] = -1 }
        for w in negations { out[w] = 0 }
        return out
    }()

    /// The most bytes (UTF-8) of an answer scored (its beginning): a long answer costs no more.
    public static let maxChars = 16_384

    /// The score of `text` (its first ``maxChars`` bytes) in −1…1.
    ///
    /// One pass over the Unicode scalars: letters (ASCII lowercased) and `'` make words, anything
    /// else ends one. It runs on every recorded answer, so it avoids Foundation's lowercasing,
    /// grapheme splitting and trimming (which made it a quarter of a call's CPU).
    public static func score(_ text: String) -> Double {
        var tally = Tally()
        var word: [UInt8] = []
        word.reserveCapacity(32)
        var bytes = 0
        for scalar in text.unicodeScalars {
            bytes += UTF8.width(scalar)
            if bytes > maxChars { break }
            let v = scalar.value
            if v < 0x80 {
                switch UInt8(v) {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "'"): word.append(UInt8(v))
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): word.append(UInt8(v) | 0x20)
                default:
                    tally.add(word)
                    word.removeAll(keepingCapacity: true)
                }
            } else if scalar.properties.isAlphabetic {
                word.append(contentsOf: scalar.properties.lowercaseMapping.utf8)
            } else {
                tally.add(word)
                word.removeAll(keepingCapacity: true)
            }
        }
        tally.add(word)
        return tally.score
    }

    /// Positive and negative words seen, and how far back the last negation was.
    private struct Tally {
        var pos = 0
        var neg = 0
        var sinceNegation = Int.max

        mutating func add(_ raw: [UInt8]) {
            guard !raw.isEmpty else { return }
            let apostrophe = UInt8(ascii: "'")
            var word = raw[...]
            while word.first == apostrophe { word = word.dropFirst() }
            while word.last == apostrophe { word = word.dropLast() }
            if word.count >= 3, word.suffix(3).elementsEqual("n't".utf8) {
                sinceNegation = 0
                return
            }
            if word.count >= 2, word.suffix(2).elementsEqual("'s".utf8) { word = word.dropLast(2) }
            // Words outside the lexicon are most words: one hash, and no allocation for short words.
            let kind = SentimentScorer.lexicon[String(decoding: word, as: UTF8.self)]
            if kind == 0 {
                sinceNegation = 0
                return
            }
            let negated = sinceNegation < 2
            sinceNegation = sinceNegation == Int.max ? .max : sinceNegation + 1
            if kind == 1 {
                if negated { neg += 1 } else { pos += 1 }
            } else if kind == -1 {
                if negated { pos += 1 } else { neg += 1 }
            }
        }

        var score: Double {
            guard pos + neg > 0 else { return 0 }
            return Double(pos - neg) / Double(pos + neg)
        }
    }
}
