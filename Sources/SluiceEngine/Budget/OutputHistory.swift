/// The output tokens of recent answers, per purpose and per model: a call that sets no
/// `max_tokens` reserves the observed p99 of its purpose (or, failing that, its model)
/// instead of a blanket 4,096, so a burst of small answers is not refused for money it
/// will never spend.
struct OutputHistory: Sendable {
    /// Answers kept per purpose or model.
    static let capacity = 200
    /// Answers needed before the p99 is trusted; until then the blanket default applies.
    static let minimumSamples = 20

    struct Ring: Sendable {
        var values: [Int] = []
        var next = 0
        /// The p99 as of the last recompute, and the inserts since.
        var p99: Int?
        var sinceRecompute = 0

        mutating func add(_ v: Int) {
            if values.count < OutputHistory.capacity {
                values.append(v)
            } else {
                values[next] = v
                next = (next + 1) % OutputHistory.capacity
            }
            sinceRecompute += 1
            // The sort is over at most 200 numbers, redone every 8 answers (or while history is short).
            if values.count >= OutputHistory.minimumSamples && (p99 == nil || sinceRecompute >= 8) {
                let sorted = values.sorted()
                let index = Int((Double(sorted.count) * 0.99).rounded(.up)) - 1
                p99 = sorted[max(0, min(sorted.count - 1, index))]
                sinceRecompute = 0
            }
        }
    }

    private var purposes: [String: Ring] = [:]
    private var models: [String: Ring] = [:]

    /// Notes an answer's output tokens.
    mutating func add(purpose: String, model: String, outputTokens: Int) {
        purposes[purpose, default: Ring()].add(outputTokens)
        if models.count < 1_000 || models[model] != nil { models[model, default: Ring()].add(outputTokens) }
    }

    /// The observed p99 output tokens of the purpose, else of the model; `nil` before there is history.
    func p99(purpose: String, model: String) -> Int? {
        purposes[purpose]?.p99 ?? models[model]?.p99
    }
}
