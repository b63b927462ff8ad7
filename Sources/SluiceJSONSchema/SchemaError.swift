/// Why a schema could not be compiled. The description names the schema
/// location (a JSON Pointer into the schema document) and the problem.
public struct SchemaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kinds of compile failure.
    public enum Kind: Sendable, Equatable {
        /// A `$ref` (or `$dynamicRef`) that names no schema in the document;
        /// the payload is the reference as written.
        case unresolvableReference(String)
        /// A `pattern` or `patternProperties` key that is not a valid regular
        /// expression; the payload is the pattern.
        case invalidPattern(String)
        /// A keyword whose value has the wrong shape (`"minimum": "5"`).
        case invalidKeyword(String)
        /// A value where a schema (object or boolean) is expected.
        case notASchema
    }

    /// What went wrong.
    public var kind: Kind
    /// JSON Pointer to the offending schema inside the schema document (empty for the root).
    public var schemaPath: String
    /// A sentence naming the problem.
    public var reason: String

    /// An error at `schemaPath`.
    public init(_ kind: Kind, at schemaPath: String, reason: String) {
        self.kind = kind
        self.schemaPath = schemaPath
        self.reason = reason
    }

    /// `invalid schema at /properties/a: cannot resolve $ref 'other.json'`.
    public var description: String {
        "invalid schema at \(schemaPath.isEmpty ? "/" : schemaPath): \(reason)"
    }
}
