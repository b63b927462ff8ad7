import Foundation
import SluiceCore

/// One guard rule of a purpose: a deny-list regex, a length cap, keywords that
/// must or must not appear. It `block`s the call or `flag`s it in the record.
public struct GuardRule: Sendable {
    /// What happens when the rule matches.
    public enum Action: String, Sendable { case block, flag }

    /// The rule's name, reported in errors and flags.
    public var name: String
    /// `block` (the default) or `flag`.
    public var action: Action
    /// Regexes that must not match (case-insensitive).
    public var deny: [NSRegularExpressionBox] = []
    /// The most characters allowed.
    public var maxLength: Int?
    /// Keywords that must all appear (case-insensitive).
    public var require: [String] = []
    /// Keywords that must not appear (case-insensitive).
    public var forbid: [String] = []
    /// An outside classifier (webhook, moderation, judge) instead of the checks above; asked by
    /// ``ClassifierGuards``, never by ``violation(in:)``.
    public var classifier: GuardClassifier?

    /// A rule named `name`; fill in the checks.
    public init(name: String, action: Action = .block) {
        self.name = name
        self.action = action
    }

    /// Why `text` breaks the rule, or `nil` when it passes.
    public func violation(in text: String) -> String? {
        guard classifier == nil else { return nil }
        if let maxLength, text.count > maxLength { return "is \(text.count) characters, over the limit of \(maxLength)" }
        let lower = text.lowercased()
        for r in deny where r.matches(text) { return "matches the denied pattern '\(r.pattern)'" }
        for k in forbid where lower.contains(k.lowercased()) { return "contains the forbidden keyword '\(k)'" }
        for k in require where !lower.contains(k.lowercased()) { return "does not contain the required keyword '\(k)'" }
        return nil
    }
}

/// A compiled regex that can cross concurrency domains (NSRegularExpression is immutable and thread-safe).
public struct NSRegularExpressionBox: @unchecked Sendable {
    /// The pattern as written.
    public let pattern: String
    let regex: NSRegularExpression

    /// Compiles `pattern` case-insensitively; throws on a bad pattern.
    public init(_ pattern: String) throws {
        self.pattern = pattern
        regex = try NSRegularExpression(pattern: pattern, options: [.caseInsensitive])
    }

    func matches(_ text: String) -> Bool {
        regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}

/// A purpose's guards on what goes in and what comes out.
public struct Guards: Sendable {
    /// Checked on the request's messages before any provider sees them.
    public var input: [GuardRule] = []
    /// Checked on the answer text.
    public var output: [GuardRule] = []

    /// No rules.
    public init() {}

    /// Checks `text` against `rules`: the first blocking violation throws
    /// (`code`, naming the rule), flagging ones are returned as `side:name`.
    static func check(_ rules: [GuardRule], _ text: String, side: String, code: SluiceError.Code) throws(SluiceError) -> [String] {
        var flags: [String] = []
        for rule in rules {
            guard let why = rule.violation(in: text) else { continue }
            switch rule.action {
            case .block:
                throw SluiceError(code, "The \(side) guard '\(rule.name)' blocked this call: the \(side) \(why).", param: "guard:\(rule.name)")
            case .flag:
                flags.append("\(side):\(rule.name)")
            }
        }
        return flags
    }
}
