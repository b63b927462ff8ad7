import Foundation
import SluiceCore

/// Index of a compiled schema in ``CompiledSchema/nodes``; references are
/// indices, so recursive schemas form cycles without reference counting.
typealias NodeID = Int

/// The JSON Schema `type` names.
enum SchemaType: String, Sendable, CaseIterable {
    case null, boolean, object, array, number, string, integer

    /// True when `value` is of this type (`integer`: a number with no fractional part).
    func matches(_ value: JSON) -> Bool {
        switch (self, value) {
        case (.null, .null), (.boolean, .bool), (.object, .object), (.array, .array),
            (.number, .number), (.string, .string):
            return true
        case (.integer, .number(let text)):
            return JSONNumber(text)?.isInteger ?? false
        default:
            return false
        }
    }
}

/// A compiled regular expression (`pattern`, `patternProperties`), unanchored
/// like ECMA-262 `RegExp.test`, with ECMA-262 `\d`, `\w`, `\s` and `$` (see ``ECMAPattern``).
struct SchemaPattern: Sendable {
    /// The pattern as written in the schema.
    let source: String
    private let regex: NSRegularExpression

    /// Compiles `source`; `nil` if it is not a valid expression.
    init?(_ source: String) {
        guard let regex = try? NSRegularExpression(pattern: ECMAPattern.translate(source)) else { return nil }
        self.source = source
        self.regex = regex
    }

    /// True when the expression matches somewhere in `text`.
    func matches(_ text: String) -> Bool {
        regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}

/// One compiled schema object (or boolean schema) with its keywords parsed.
/// Absent keywords are `nil` or empty.
struct SchemaNode: Sendable {
    /// `true`/`false` for boolean schemas; `nil` for schema objects.
    var boolean: Bool?

    // Any instance
    var types: [SchemaType]?
    var enumValues: [JSON]?
    var constValue: JSON?

    // Numbers
    var multipleOf: JSONNumber?
    var maximum: JSONNumber?
    var exclusiveMaximum: JSONNumber?
    var minimum: JSONNumber?
    var exclusiveMinimum: JSONNumber?

    // Strings
    var maxLength: Int?
    var minLength: Int?
    var pattern: SchemaPattern?

    // Arrays
    var maxItems: Int?
    var minItems: Int?
    var uniqueItems = false
    var prefixItems: [NodeID] = []
    var items: NodeID?
    var contains: NodeID?
    var minContains: Int?
    var maxContains: Int?
    var unevaluatedItems: NodeID?

    // Objects
    var maxProperties: Int?
    var minProperties: Int?
    var required: [String] = []
    var properties: [String: NodeID] = [:]
    var patternProperties: [(pattern: SchemaPattern, node: NodeID)] = []
    var additionalProperties: NodeID?
    var dependentRequired: [(property: String, required: [String])] = []
    var dependentSchemas: [(property: String, node: NodeID)] = []
    var propertyNames: NodeID?
    var unevaluatedProperties: NodeID?

    // In-place applicators
    var ref: NodeID?
    var dynamicRef: NodeID?
    var allOf: [NodeID] = []
    var anyOf: [NodeID] = []
    var oneOf: [NodeID] = []
    var not: NodeID?
    var ifSchema: NodeID?
    var thenSchema: NodeID?
    var elseSchema: NodeID?

    /// True when evaluating this node needs the evaluated-property and
    /// evaluated-item annotations of its in-place applicators.
    var tracksUnevaluated: Bool { unevaluatedItems != nil || unevaluatedProperties != nil }
}

/// The compiled form of a schema document: a node table and the root.
struct CompiledSchema: Sendable {
    var nodes: [SchemaNode]
    var root: NodeID
}
