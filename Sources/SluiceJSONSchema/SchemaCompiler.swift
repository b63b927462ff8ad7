import SluiceCore

/// Turns a schema document into a ``CompiledSchema``: parses every keyword
/// once and resolves every `$ref` to a node, so validation does no lookups.
///
/// Nodes are memoized by their location in the document, so a schema that
/// refers to itself (`"$ref": "#"`) compiles to a cycle, and each location
/// compiles once however many references reach it.
struct SchemaCompiler {
    let index: SchemaIndex
    private var nodes: [SchemaNode] = []
    private var nodeAt: [String: NodeID] = [:]

    /// Compiles `document`.
    static func compile(_ document: JSON) throws(SchemaError) -> CompiledSchema {
        var compiler = SchemaCompiler(index: SchemaIndex(document))
        let root = try compiler.node(document, at: [])
        return CompiledSchema(nodes: compiler.nodes, root: root)
    }

    private init(index: SchemaIndex) {
        self.index = index
    }

    /// The node for the schema `value` found at `tokens`, compiling it on first use.
    mutating func node(_ value: JSON, at tokens: [String]) throws(SchemaError) -> NodeID {
        let key = JSONPointer.string(tokens)
        if let id = nodeAt[key] { return id }
        let id = nodes.count
        nodes.append(SchemaNode())
        nodeAt[key] = id
        switch value {
        case .bool(let b):
            nodes[id].boolean = b
        case .object(let object):
            let context = KeywordContext(object: object, tokens: tokens)
            let built = try build(context)
            nodes[id] = built
        default:
            throw SchemaError(.notASchema, at: key, reason: "expected a schema (object or boolean), got \(value.typeName)")
        }
        return id
    }

    /// The node for keyword `keyword`'s schema value, if present.
    mutating func subschema(_ keyword: String, in context: KeywordContext) throws(SchemaError) -> NodeID? {
        guard let value = context.object[keyword] else { return nil }
        return try node(value, at: context.tokens + [keyword])
    }

    /// The nodes for an array of schemas (`allOf`, `prefixItems`, …).
    mutating func subschemaArray(_ keyword: String, in context: KeywordContext) throws(SchemaError) -> [NodeID] {
        guard let value = context.object[keyword] else { return [] }
        guard case .array(let elements) = value, !elements.isEmpty else {
            throw context.invalid(keyword, "must be a non-empty array of schemas")
        }
        var ids: [NodeID] = []
        for (i, element) in elements.enumerated() {
            ids.append(try node(element, at: context.tokens + [keyword, String(i)]))
        }
        return ids
    }

    /// The nodes for an object of schemas (`properties`, `dependentSchemas`, …), in source order.
    mutating func subschemaMap(_ keyword: String, in context: KeywordContext) throws(SchemaError) -> [(String, NodeID)] {
        guard let value = context.object[keyword] else { return [] }
        guard case .object(let members) = value else {
            throw context.invalid(keyword, "must be an object of schemas")
        }
        var ids: [(String, NodeID)] = []
        for (name, member) in members {
            ids.append((name, try node(member, at: context.tokens + [keyword, name])))
        }
        return ids
    }

    /// The node a `$ref` or `$dynamicRef` names; a compile error if none.
    mutating func reference(_ keyword: String, in context: KeywordContext) throws(SchemaError) -> NodeID? {
        guard let value = context.object[keyword] else { return nil }
        guard case .string(let reference) = value else { throw context.invalid(keyword, "must be a string") }
        let base = index.base(at: context.tokens)
        guard let target = index.locate(reference, from: base),
            let targetValue = JSONPointer.resolve(target, in: index.document)
        else {
            let resolved = base.resolving(URIReference(reference)).text
            throw SchemaError(
                .unresolvableReference(reference), at: context.pointer,
                reason: "cannot resolve \(keyword) '\(reference)' (\(resolved)): no schema in the document has that identifier; remote references are not supported")
        }
        return try node(targetValue, at: target)
    }
}

/// A schema object being compiled and where it sits in the document.
struct KeywordContext {
    let object: JSONObject
    let tokens: [String]

    /// JSON Pointer of this schema in the document.
    var pointer: String { JSONPointer.string(tokens) }

    /// A compile error for a malformed keyword value.
    func invalid(_ keyword: String, _ problem: String) -> SchemaError {
        SchemaError(.invalidKeyword(keyword), at: pointer, reason: "'\(keyword)' \(problem)")
    }
}
