import Foundation
import SluiceCore

/// A small JSONPath subset for eval expectations: `$` (the whole value),
/// `.name`, `['name']` or `["name"]`, and `[N]` (`[-1]` is the last element).
///
/// ```swift
/// let path = try JSONPath("$.labels[0].name")
/// path.read(try JSON.parse(#"{"labels":[{"name":"bug"}]}"#))   // "bug"
/// ```
public struct JSONPath: Sendable, Equatable, CustomStringConvertible {
    /// One step down from a value.
    public enum Step: Sendable, Equatable {
        /// An object member.
        case key(String)
        /// An array element; negative counts from the end.
        case index(Int)
    }

    /// The steps from the root.
    public let steps: [Step]
    /// The text it was parsed from.
    public let text: String

    /// Parses `text`; the error says what is wrong and where.
    public init(_ text: String) throws(JSONPathError) {
        self.text = text
        var chars = Array(text)
        guard chars.first == "$" else { throw JSONPathError("'\(text)' must start with '$' (such as $.label or $.items[0])") }
        chars.removeFirst()
        var steps: [Step] = []
        var i = 0
        func fail(_ what: String) -> JSONPathError { JSONPathError("'\(text)': \(what) at character \(i + 2)") }
        while i < chars.count {
            switch chars[i] {
            case ".":
                i += 1
                let start = i
                while i < chars.count, chars[i] != ".", chars[i] != "[" { i += 1 }
                guard i > start else { throw fail("expected a member name after '.'") }
                steps.append(.key(String(chars[start..<i])))
            case "[":
                i += 1
                guard i < chars.count else { throw fail("unclosed '['") }
                if chars[i] == "'" || chars[i] == "\"" {
                    let quote = chars[i]
                    i += 1
                    var name = ""
                    while i < chars.count, chars[i] != quote {
                        if chars[i] == "\\", i + 1 < chars.count { i += 1 }
                        name.append(chars[i])
                        i += 1
                    }
                    guard i < chars.count else { throw fail("unclosed quote") }
                    i += 1
                    guard i < chars.count, chars[i] == "]" else { throw fail("expected ']'") }
                    i += 1
                    steps.append(.key(name))
                } else {
                    let start = i
                    while i < chars.count, chars[i] != "]" { i += 1 }
                    guard i < chars.count else { throw fail("unclosed '['") }
                    let inner = String(chars[start..<i]).trimmingCharacters(in: .whitespaces)
                    guard let n = Int(inner) else { throw fail("'[\(inner)]' is not an index: use [0], [-1] or ['name']") }
                    i += 1
                    steps.append(.index(n))
                }
            default:
                throw fail("unexpected '\(chars[i])'; use .name, ['name'] or [N]")
            }
        }
        self.steps = steps
    }

    /// The value at this path in `json`; `nil` when a step finds nothing.
    public func read(_ json: JSON) -> JSON? {
        var current = json
        for step in steps {
            switch step {
            case .key(let k):
                guard let next = current.objectValue?[k] else { return nil }
                current = next
            case .index(let n):
                guard let items = current.arrayValue else { return nil }
                let i = n < 0 ? items.count + n : n
                guard items.indices.contains(i) else { return nil }
                current = items[i]
            }
        }
        return current
    }

    /// The longest prefix of this path that exists in `json`, and what is there
    /// (for messages: "`$.a` has no member `b`; its members are …").
    func deepestMatch(in json: JSON) -> (path: String, value: JSON, missing: Step)? {
        var current = json
        var shown = "$"
        for step in steps {
            let next: JSON?
            switch step {
            case .key(let k):
                next = current.objectValue?[k]
            case .index(let n):
                let items = current.arrayValue ?? []
                let i = n < 0 ? items.count + n : n
                next = current.arrayValue != nil && items.indices.contains(i) ? items[i] : nil
            }
            guard let next else { return (shown, current, step) }
            current = next
            shown += Self.render(step)
        }
        return nil
    }

    static func render(_ step: Step) -> String {
        switch step {
        case .key(let k): k.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" } ? ".\(k)" : "['\(k)']"
        case .index(let n): "[\(n)]"
        }
    }

    /// The text of the path.
    public var description: String { text }
}

/// A JSONPath that does not parse; the message says why.
public struct JSONPathError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}
