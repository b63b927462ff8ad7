/// A JSON value that keeps what Codable round trips lose: object key order,
/// unknown fields and the exact text of numbers.
///
/// Sluice decodes a request once into `JSON`, reads the few fields it needs,
/// edits what it must (the model name, `stream_options`) and serializes the
/// rest untouched, so new provider parameters keep working.
///
/// ```swift
/// var body = try JSON.parse(bytes).objectValue!
/// body["model"] = .string("gpt-4o-mini-2024-07-18")
/// let out = JSON.object(body).serialized()
/// ```
public enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number kept as its source text (`1`, `0.5`, `1e-3`).
    case number(String)
    case string(String)
    case array([JSON])
    case object(JSONObject)

    /// A number value from an integer.
    public static func int(_ value: Int) -> JSON { .number(String(value)) }

    /// A number value from a double, written in the shortest form that round-trips.
    public static func double(_ value: Double) -> JSON {
        if value.rounded() == value, abs(value) < 1e15 { return .number(String(Int(value))) }
        return .number("\(value)")
    }

    /// The object payload, if this is an object.
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// The array payload, if this is an array.
    public var arrayValue: [JSON]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The string payload, if this is a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The boolean payload, if this is a boolean.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The number as a double, if this is a number.
    public var doubleValue: Double? {
        if case .number(let n) = self { return Double(n) }
        return nil
    }

    /// The number as an integer, if this is a number with no fractional part.
    public var intValue: Int? {
        guard case .number(let n) = self else { return nil }
        if let i = Int(n) { return i }
        if let d = Double(n), d.rounded() == d, abs(d) < 9e15 { return Int(d) }
        return nil
    }

    /// True for `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The JSON type name used in error messages (`string`, `number`, …).
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// Member lookup on objects; `nil` for other values or a missing key.
    public subscript(key: String) -> JSON? {
        objectValue?[key]
    }
}

/// A JSON object that keeps its keys in source order.
public struct JSONObject: Sendable, Equatable, Sequence {
    /// The members in order.
    public private(set) var members: [(key: String, value: JSON)]

    /// An empty object.
    public init() { self.members = [] }

    /// An object from ordered members; later duplicates replace earlier ones.
    public init(_ members: [(String, JSON)]) {
        self.members = []
        self.members.reserveCapacity(members.count)
        for (k, v) in members { self[k] = v }
    }

    init(uncheckedMembers: [(key: String, value: JSON)]) { self.members = uncheckedMembers }

    /// Reads or writes a member; writing `nil` removes it, writing an existing key keeps its position.
    public subscript(key: String) -> JSON? {
        get {
            for m in members where m.key == key { return m.value }
            return nil
        }
        set {
            if let i = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[i].value = newValue } else { members.remove(at: i) }
            } else if let newValue {
                members.append((key, newValue))
            }
        }
    }

    /// Adds `other`'s members after this object's; a key already here takes `other`'s
    /// value in its place. Compares `other`'s keys with this object's own only (an
    /// object's keys are distinct), so merging into a small object is linear.
    public mutating func merge(_ other: JSONObject) {
        let mine = members.count
        members.reserveCapacity(mine + other.members.count)
        outer: for m in other.members {
            for i in 0..<mine where members[i].key == m.key {
                members[i].value = m.value
                continue outer
            }
            members.append(m)
        }
    }

    /// Removes a member and returns its value.
    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSON? {
        guard let i = members.firstIndex(where: { $0.key == key }) else { return nil }
        return members.remove(at: i).value
    }

    /// The keys in order.
    public var keys: [String] { members.map(\.key) }

    /// Number of members.
    public var count: Int { members.count }

    /// Iterates the members in order.
    public func makeIterator() -> IndexingIterator<[(key: String, value: JSON)]> {
        members.makeIterator()
    }

    /// Equal when both have the same members in the same order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.members.count == rhs.members.count else { return false }
        for (a, b) in zip(lhs.members, rhs.members) where a.key != b.key || a.value != b.value {
            return false
        }
        return true
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    /// A string value from a string literal.
    public init(stringLiteral value: String) { self = .string(value) }
    /// A boolean value from a boolean literal.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// A number value from an integer literal.
    public init(integerLiteral value: Int) { self = .int(value) }
    /// A number value from a floating-point literal.
    public init(floatLiteral value: Double) { self = .double(value) }
    /// An array value from an array literal.
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    /// An object value from a dictionary literal, keys in literal order.
    public init(dictionaryLiteral elements: (String, JSON)...) { self = .object(JSONObject(elements)) }
    /// `null` from a `nil` literal.
    public init(nilLiteral: ()) { self = .null }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    /// An object from a dictionary literal, keys in literal order; later duplicates replace earlier ones.
    public init(dictionaryLiteral elements: (String, JSON)...) { self.init(elements) }
}
