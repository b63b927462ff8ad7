import SluiceCore

/// The identifiers of one schema document: every schema resource (`$id`),
/// every anchor (`$anchor`, `$dynamicAnchor`) and the base URI in effect at
/// each subschema, found by walking the schema keywords (never `enum`,
/// `const` or unknown keywords, whose contents are data).
struct SchemaIndex {
    /// The base URI of a document without a root `$id`.
    static let defaultBase = URIReference("sluice:///schema.json")

    /// Keywords whose value is one schema.
    static let singleSchemaKeywords: Set<String> = [
        "items", "contains", "additionalProperties", "propertyNames", "if", "then", "else", "not",
        "unevaluatedItems", "unevaluatedProperties", "contentSchema",
    ]
    /// Keywords whose value is an object of schemas.
    static let schemaMapKeywords: Set<String> = [
        "properties", "patternProperties", "$defs", "definitions", "dependentSchemas",
    ]
    /// Keywords whose value is an array of schemas.
    static let schemaArrayKeywords: Set<String> = ["allOf", "anyOf", "oneOf", "prefixItems"]

    /// The whole schema document.
    let document: JSON
    /// Absolute URI (no fragment) of each schema resource → its location in the document.
    private(set) var resources: [String: [String]] = [:]
    /// `uri#name` of each anchor → its location in the document.
    private(set) var anchors: [String: [String]] = [:]
    /// JSON Pointer of each subschema → the base URI in effect there.
    private var bases: [String: URIReference] = [:]

    /// Indexes `document`.
    init(_ document: JSON) {
        self.document = document
        resources[Self.defaultBase.text] = []
        scan(document, at: [], base: Self.defaultBase)
    }

    private mutating func scan(_ value: JSON, at tokens: [String], base: URIReference) {
        guard case .object(let object) = value else {
            bases[JSONPointer.string(tokens)] = base
            return
        }
        var base = base
        if case .string(let id)? = object["$id"] {
            base = base.resolving(URIReference(id)).withoutFragment
            if resources[base.text] == nil { resources[base.text] = tokens }
        }
        bases[JSONPointer.string(tokens)] = base
        for keyword in ["$anchor", "$dynamicAnchor"] {
            if case .string(let name)? = object[keyword], anchors[base.text + "#" + name] == nil {
                anchors[base.text + "#" + name] = tokens
            }
        }
        for (key, child) in object {
            if Self.singleSchemaKeywords.contains(key) {
                scan(child, at: tokens + [key], base: base)
            } else if Self.schemaMapKeywords.contains(key), case .object(let members) = child {
                for (name, sub) in members { scan(sub, at: tokens + [key, name], base: base) }
            } else if Self.schemaArrayKeywords.contains(key), case .array(let elements) = child {
                for (i, sub) in elements.enumerated() { scan(sub, at: tokens + [key, String(i)], base: base) }
            }
        }
    }

    /// The base URI at `tokens`: recorded by the scan, or for a location the
    /// scan did not reach (a `$ref` into an unknown keyword) that of its
    /// nearest indexed ancestor, adjusted by its own `$id`.
    func base(at tokens: [String]) -> URIReference {
        if let base = bases[JSONPointer.string(tokens)] { return base }
        var prefix = tokens
        var base = Self.defaultBase
        while !prefix.isEmpty {
            prefix.removeLast()
            if let found = bases[JSONPointer.string(prefix)] {
                base = found
                break
            }
        }
        if case .string(let id)? = JSONPointer.resolve(tokens, in: document)?["$id"] {
            base = base.resolving(URIReference(id)).withoutFragment
        }
        return base
    }

    /// The document location a reference names, resolved against `base`:
    /// a resource plus an optional JSON Pointer fragment, or an anchor.
    /// `nil` when nothing in the document has that identifier.
    func locate(_ reference: String, from base: URIReference) -> [String]? {
        let target = base.resolving(URIReference(reference))
        let uri = target.withoutFragment.text
        let fragment = target.fragment ?? ""
        if fragment.isEmpty || fragment.hasPrefix("/") {
            guard let root = resources[uri], let pointer = JSONPointer.tokens(fromFragment: fragment) else {
                return nil
            }
            let tokens = root + pointer
            return JSONPointer.resolve(tokens, in: document) == nil ? nil : tokens
        }
        let name = JSONPointer.percentDecoded(fragment) ?? fragment
        return anchors[uri + "#" + name]
    }
}
