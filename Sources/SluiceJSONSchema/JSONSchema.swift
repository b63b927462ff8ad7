import SluiceCore

/// A compiled JSON Schema (draft 2020-12) that validates ``SluiceCore/JSON`` values.
///
/// Compile once, validate many times; the value is immutable and `Sendable`.
///
/// ```swift
/// let schema = try JSONSchema(try JSON.parse(#"{"type":"object","required":["label"]}"#))
/// for error in schema.validate(try JSON.parse("{}")) {
///     print(error)   // "/: missing required property 'label'"
/// }
/// ```
///
/// `$ref` resolves within the document only (`$defs`, `$id`, `$anchor`, JSON
/// Pointer fragments); `format` and `content*` are annotations and never fail.
/// See `docs/json-schema.md` for the full list of what is supported.
public struct JSONSchema: Sendable {
    /// The schema document as given.
    public let document: JSON
    private let compiled: CompiledSchema

    /// Compiles `schema`. Throws ``SchemaError`` for a `$ref` that names no
    /// schema in the document, an invalid regular expression, or a keyword
    /// whose value has the wrong shape.
    public init(_ schema: JSON) throws(SchemaError) {
        self.document = schema
        self.compiled = try SchemaCompiler.compile(schema)
    }

    /// Every way `instance` fails the schema; empty when it is valid.
    public func validate(_ instance: JSON) -> [ValidationError] {
        Evaluator(schema: compiled).validate(instance)
    }

    /// True when `instance` satisfies the schema.
    public func isValid(_ instance: JSON) -> Bool {
        validate(instance).isEmpty
    }
}
