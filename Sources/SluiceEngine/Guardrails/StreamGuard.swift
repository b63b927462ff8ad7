import SluiceCore

/// How a purpose's output guards meet a streamed answer (`stream_guard:`).
public enum StreamGuardMode: String, Sendable, CaseIterable {
    /// Hold the whole stream until the answer passes, then replay it: a blocked
    /// answer is never delivered, and the client gets an ordinary error response.
    case buffer
    /// Check `deny`, `forbid` and `max_length` over a sliding window as chunks pass;
    /// on a match the stream ends with an error event naming the rule (never a
    /// clean end). What was sent before the match has been delivered.
    case incremental

    /// The mode a purpose runs: its `stream_guard`, or `buffer` when an output
    /// guard can block, `nil` when no output guard can block (flags are checked
    /// at the end and never hold the stream).
    static func effective(configured: StreamGuardMode?, guards: Guards) -> StreamGuardMode? {
        guard guards.output.contains(where: { $0.action == .block }) else { return nil }
        return configured ?? .buffer
    }
}

/// The output guards of one streamed answer, as a value the relay feeds with
/// each text delta. ``feed(_:)`` checks the blocking rules that can be decided
/// on a prefix (`deny`, `forbid`, `max_length`) over the last ``window``
/// characters plus the new delta; ``finish(_:)`` checks every rule on the whole text.
struct StreamGuard: Sendable {
    /// The purpose's output rules.
    let rules: [GuardRule]
    /// Characters kept from earlier deltas, so a match cut across chunks is still seen.
    let window: Int
    /// The end of the text so far, at most ``window`` characters before the latest delta.
    private(set) var tail = ""
    /// Characters seen so far.
    private(set) var count = 0

    /// A guard over `rules`; the window covers the longest `forbid` keyword and at least 512 characters.
    init(rules: [GuardRule], window: Int = 512) {
        self.rules = rules
        let longest = rules.flatMap(\.forbid).map(\.count).max() ?? 0
        self.window = max(window, longest)
    }

    /// What the relay does with a delta.
    enum Verdict: Equatable {
        /// Pass the chunk on.
        case pass
        /// End the stream with this error instead of the chunk.
        case block(rule: String, why: String)
    }

    /// Adds `delta` and checks the blocking rules on the window.
    mutating func feed(_ delta: String) -> Verdict {
        guard !delta.isEmpty else { return .pass }
        tail += delta
        count += delta.count
        defer { if tail.count > window { tail = String(tail.suffix(window)) } }
        for rule in rules where rule.action == .block {
            if let max = rule.maxLength, count > max {
                return .block(rule: rule.name, why: "is over the limit of \(max) characters")
            }
            for r in rule.deny where r.matches(tail) { return .block(rule: rule.name, why: "matches the denied pattern '\(r.pattern)'") }
            let lower = tail.lowercased()
            for k in rule.forbid where lower.contains(k.lowercased()) {
                return .block(rule: rule.name, why: "contains the forbidden keyword '\(k)'")
            }
        }
        return .pass
    }

    /// Checks every rule on the whole answer: the flags of flagging rules, or the
    /// error of the first blocking one (a `require` keyword can only be judged here).
    func finish(_ text: String) throws(SluiceError) -> [String] {
        try Guards.check(rules, text, side: "output", code: .outputBlocked)
    }

    /// The error a stream ends with when `rule` blocked it mid-way.
    static func error(rule: String, why: String) -> SluiceError {
        SluiceError(
            .outputBlocked,
            "The output guard '\(rule)' stopped this stream: the output \(why). The answer was cut at that point; "
                + "set stream_guard: buffer on the purpose to hold streams until they pass.",
            param: "guard:\(rule)")
    }
}
