import SluiceCore

extension Evaluator {
    /// `type`, `enum`, `const`: keywords that apply to any instance.
    func evaluateGeneric(_ node: SchemaNode, _ instance: JSON, at location: Location, into outcome: inout Outcome) {
        if let types = node.types, !types.contains(where: { $0.matches(instance) }) {
            let expected = types.map(\.rawValue).joined(separator: " or ")
            outcome.errors.append(error(location, "type", "expected \(expected), got \(instance.typeName)"))
        }
        if let values = node.enumValues, !values.contains(where: { SchemaValue.equal($0, instance) }) {
            let reason =
                values.count == 1
                ? "\(SchemaValue.render(instance)) is not \(SchemaValue.render(values[0]))"
                : "\(SchemaValue.render(instance)) is not one of \(SchemaValue.renderList(values))"
            outcome.errors.append(error(location, "enum", reason))
        }
        if let constant = node.constValue, !SchemaValue.equal(constant, instance) {
            let reason = "\(SchemaValue.render(instance)) is not the constant \(SchemaValue.render(constant))"
            outcome.errors.append(error(location, "const", reason))
        }
    }

    /// `multipleOf`, `maximum`, `exclusiveMaximum`, `minimum`, `exclusiveMinimum`.
    func evaluateNumber(_ node: SchemaNode, _ text: String, at location: Location, into outcome: inout Outcome) {
        guard let value = JSONNumber(text) else { return }
        if let divisor = node.multipleOf, !value.isMultiple(of: divisor) {
            outcome.errors.append(error(location, "multipleOf", "\(text) is not a multiple of \(divisor.text)"))
        }
        if let limit = node.maximum, value > limit {
            outcome.errors.append(error(location, "maximum", "\(text) is greater than the maximum \(limit.text)"))
        }
        if let limit = node.exclusiveMaximum, value >= limit {
            let reason = "\(text) is not less than the exclusive maximum \(limit.text)"
            outcome.errors.append(error(location, "exclusiveMaximum", reason))
        }
        if let limit = node.minimum, value < limit {
            outcome.errors.append(error(location, "minimum", "\(text) is less than the minimum \(limit.text)"))
        }
        if let limit = node.exclusiveMinimum, value <= limit {
            let reason = "\(text) is not greater than the exclusive minimum \(limit.text)"
            outcome.errors.append(error(location, "exclusiveMinimum", reason))
        }
    }

    /// `maxLength`, `minLength` (in Unicode code points) and `pattern`.
    func evaluateString(_ node: SchemaNode, _ text: String, at location: Location, into outcome: inout Outcome) {
        if node.maxLength != nil || node.minLength != nil {
            let length = text.unicodeScalars.count
            let shown = SchemaValue.render(.string(text))
            if let limit = node.maxLength, length > limit {
                let reason = "\(shown) is longer than \(plural(limit, "character")) (\(length))"
                outcome.errors.append(error(location, "maxLength", reason))
            }
            if let limit = node.minLength, length < limit {
                let reason = "\(shown) is shorter than \(plural(limit, "character")) (\(length))"
                outcome.errors.append(error(location, "minLength", reason))
            }
        }
        if let pattern = node.pattern, !pattern.matches(text) {
            let reason = "\(SchemaValue.render(.string(text))) does not match the pattern '\(pattern.source)'"
            outcome.errors.append(error(location, "pattern", reason))
        }
    }

    /// `1 item`, `3 items`; `pluralForm` for irregular nouns (`properties`).
    func plural(_ count: Int, _ noun: String, _ pluralForm: String? = nil) -> String {
        count == 1 ? "1 \(noun)" : "\(count) \(pluralForm ?? noun + "s")"
    }
}
