import SluiceCore

/// The JSON Schema view of instances: equality as `const`, `enum` and
/// `uniqueItems` define it, and short renderings for error messages.
enum SchemaValue {
    /// JSON Schema equality: numbers compare numerically (`1 == 1.0`), object
    /// key order is irrelevant, arrays compare element by element.
    static func equal(_ lhs: JSON, _ rhs: JSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.string(let a), .string(let b)): return sameScalars(a, b)
        case (.number(let a), .number(let b)):
            guard let x = JSONNumber(a), let y = JSONNumber(b) else { return a == b }
            return x == y
        case (.array(let a), .array(let b)):
            guard a.count == b.count else { return false }
            for (x, y) in zip(a, b) where !equal(x, y) { return false }
            return true
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            for (key, value) in a {
                guard let other = b.members.first(where: { sameScalars($0.key, key) }), equal(value, other.value) else {
                    return false
                }
            }
            return true
        default:
            return false
        }
    }

    /// Code point equality. Swift's `==` on strings treats canonically
    /// equivalent texts (`é` and `e` + U+0301) as equal; JSON does not.
    static func sameScalars(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.elementsEqual(b.unicodeScalars)
    }

    /// The longest rendering kept whole in a message; longer ones are cut with `…`.
    static let renderLimit = 60

    /// A value as messages show it: strings in single quotes, everything else
    /// as compact JSON, cut to ``renderLimit`` characters.
    static func render(_ value: JSON) -> String {
        let text: String
        switch value {
        case .string(let s): text = "'\(s)'"
        default: text = value.jsonString
        }
        guard text.count > renderLimit else { return text }
        return String(text.prefix(renderLimit)) + "…"
    }

    /// Values joined for a message: `'bug', 'feature'`.
    static func renderList(_ values: [JSON]) -> String {
        values.map(render).joined(separator: ", ")
    }
}
