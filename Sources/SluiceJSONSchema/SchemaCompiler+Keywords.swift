import SluiceCore

extension SchemaCompiler {
    /// Parses the keywords of one schema object. Unknown keywords, `format`,
    /// `content*`, and the annotation keywords (`title`, `default`, …) are ignored.
    mutating func build(_ c: KeywordContext) throws(SchemaError) -> SchemaNode {
        var node = SchemaNode()
        node.types = try types(c)
        if let value = c.object["enum"] {
            guard case .array(let values) = value else { throw c.invalid("enum", "must be an array") }
            node.enumValues = values
        }
        node.constValue = c.object["const"]

        node.multipleOf = try number("multipleOf", c)
        if let m = node.multipleOf, m.negative || m.isZero {
            throw c.invalid("multipleOf", "must be greater than 0")
        }
        node.maximum = try number("maximum", c)
        node.exclusiveMaximum = try number("exclusiveMaximum", c)
        node.minimum = try number("minimum", c)
        node.exclusiveMinimum = try number("exclusiveMinimum", c)

        node.maxLength = try count("maxLength", c)
        node.minLength = try count("minLength", c)
        node.pattern = try pattern(c)

        node.maxItems = try count("maxItems", c)
        node.minItems = try count("minItems", c)
        node.uniqueItems = try flag("uniqueItems", c)
        node.prefixItems = try subschemaArray("prefixItems", in: c)
        if case .array? = c.object["items"] {
            throw c.invalid("items", "must be a schema; use 'prefixItems' for tuples (JSON Schema 2020-12)")
        }
        node.items = try subschema("items", in: c)
        node.contains = try subschema("contains", in: c)
        node.minContains = try count("minContains", c)
        node.maxContains = try count("maxContains", c)
        node.unevaluatedItems = try subschema("unevaluatedItems", in: c)

        node.maxProperties = try count("maxProperties", c)
        node.minProperties = try count("minProperties", c)
        node.required = try strings("required", c) ?? []
        node.properties = Dictionary(try subschemaMap("properties", in: c), uniquingKeysWith: { a, _ in a })
        for (source, id) in try subschemaMap("patternProperties", in: c) {
            guard let compiled = SchemaPattern(source) else {
                throw SchemaError(
                    .invalidPattern(source), at: c.pointer,
                    reason: "'patternProperties' key '\(source)' is not a valid regular expression")
            }
            node.patternProperties.append((compiled, id))
        }
        node.additionalProperties = try subschema("additionalProperties", in: c)
        node.dependentRequired = try dependentRequired(c)
        node.dependentSchemas = try subschemaMap("dependentSchemas", in: c).map { (property: $0.0, node: $0.1) }
        node.propertyNames = try subschema("propertyNames", in: c)
        node.unevaluatedProperties = try subschema("unevaluatedProperties", in: c)

        node.ref = try reference("$ref", in: c)
        node.dynamicRef = try reference("$dynamicRef", in: c)
        node.allOf = try subschemaArray("allOf", in: c)
        node.anyOf = try subschemaArray("anyOf", in: c)
        node.oneOf = try subschemaArray("oneOf", in: c)
        node.not = try subschema("not", in: c)
        node.ifSchema = try subschema("if", in: c)
        node.thenSchema = try subschema("then", in: c)
        node.elseSchema = try subschema("else", in: c)
        // Compiled so that references into them resolve; never applied.
        _ = try subschemaMap("$defs", in: c)
        return node
    }

    private func types(_ c: KeywordContext) throws(SchemaError) -> [SchemaType]? {
        guard let value = c.object["type"] else { return nil }
        let names: [String]
        switch value {
        case .string(let name): names = [name]
        case .array(let elements):
            names = elements.compactMap(\.stringValue)
            guard names.count == elements.count, !names.isEmpty else {
                throw c.invalid("type", "must be a type name or a non-empty array of type names")
            }
        default:
            throw c.invalid("type", "must be a type name or an array of type names")
        }
        var types: [SchemaType] = []
        for name in names {
            guard let type = SchemaType(rawValue: name) else {
                let known = SchemaType.allCases.map(\.rawValue).joined(separator: ", ")
                throw c.invalid("type", "names unknown type '\(name)' (known: \(known))")
            }
            types.append(type)
        }
        return types
    }

    private func number(_ keyword: String, _ c: KeywordContext) throws(SchemaError) -> JSONNumber? {
        guard let value = c.object[keyword] else { return nil }
        guard case .number(let text) = value, let number = JSONNumber(text) else {
            throw c.invalid(keyword, "must be a number, got \(value.typeName)")
        }
        return number
    }

    /// A non-negative integer keyword (`maxLength`, `minItems`, …); `1.0` counts
    /// as an integer and values beyond `Int.max` clamp to it.
    private func count(_ keyword: String, _ c: KeywordContext) throws(SchemaError) -> Int? {
        guard let value = c.object[keyword] else { return nil }
        guard case .number(let text) = value, let number = JSONNumber(text), number.isInteger, !number.negative else {
            throw c.invalid(keyword, "must be a non-negative integer")
        }
        if number.isZero { return 0 }
        let digitCount = number.digits.count + number.exponent
        guard digitCount <= 18 else { return Int.max }
        let significand = number.digits.reduce(0) { $0 * 10 + Int($1) }
        return (0..<number.exponent).reduce(significand) { value, _ in value * 10 }
    }

    private func flag(_ keyword: String, _ c: KeywordContext) throws(SchemaError) -> Bool {
        guard let value = c.object[keyword] else { return false }
        guard case .bool(let b) = value else { throw c.invalid(keyword, "must be a boolean") }
        return b
    }

    private func strings(_ keyword: String, _ c: KeywordContext) throws(SchemaError) -> [String]? {
        guard let value = c.object[keyword] else { return nil }
        guard case .array(let elements) = value else { throw c.invalid(keyword, "must be an array of strings") }
        let names = elements.compactMap(\.stringValue)
        guard names.count == elements.count else { throw c.invalid(keyword, "must be an array of strings") }
        return names
    }

    private func pattern(_ c: KeywordContext) throws(SchemaError) -> SchemaPattern? {
        guard let value = c.object["pattern"] else { return nil }
        guard case .string(let source) = value else { throw c.invalid("pattern", "must be a string") }
        guard let compiled = SchemaPattern(source) else {
            throw SchemaError(
                .invalidPattern(source), at: c.pointer, reason: "'pattern' '\(source)' is not a valid regular expression")
        }
        return compiled
    }

    private func dependentRequired(_ c: KeywordContext) throws(SchemaError) -> [(property: String, required: [String])] {
        guard let value = c.object["dependentRequired"] else { return [] }
        guard case .object(let members) = value else {
            throw c.invalid("dependentRequired", "must be an object of string arrays")
        }
        var result: [(property: String, required: [String])] = []
        for (property, list) in members {
            let names = list.arrayValue?.compactMap(\.stringValue)
            guard let names, names.count == list.arrayValue?.count else {
                throw c.invalid("dependentRequired", "must be an object of string arrays ('\(property)' is not)")
            }
            result.append((property, names))
        }
        return result
    }
}
