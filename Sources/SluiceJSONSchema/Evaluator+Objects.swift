import SluiceCore

extension Evaluator {
    /// `properties`, `patternProperties`, `additionalProperties`, `required`,
    /// `dependentRequired`, `dependentSchemas`, `propertyNames`,
    /// `maxProperties`, `minProperties`.
    func evaluateObject(_ node: SchemaNode, _ object: JSONObject, at location: Location, into outcome: inout Outcome) {
        for (key, value) in object {
            var matched = false
            if let id = node.properties[key] {
                matched = true
                applyToProperty(id, "properties", key, value, at: location, into: &outcome)
            }
            for (pattern, id) in node.patternProperties where pattern.matches(key) {
                matched = true
                applyToProperty(id, "patternProperties", key, value, at: location, into: &outcome)
            }
            if !matched, let id = node.additionalProperties {
                applyToProperty(id, "additionalProperties", key, value, at: location, into: &outcome)
            }
        }
        for name in node.required where object[name] == nil {
            outcome.errors.append(error(location, "required", "missing required property '\(name)'"))
        }
        for (property, names) in node.dependentRequired where object[property] != nil {
            for name in names where object[name] == nil {
                let reason = "missing property '\(name)', required when '\(property)' is present"
                outcome.errors.append(error(location, "dependentRequired", reason))
            }
        }
        for (property, id) in node.dependentSchemas where object[property] != nil {
            outcome.errors += applyInPlace(id, .object(object), at: location, into: &outcome).errors
        }
        if let id = node.propertyNames { evaluatePropertyNames(id, object, at: location, into: &outcome) }
        if let limit = node.maxProperties, object.count > limit {
            let reason = "object has \(plural(object.count, "property", "properties")), more than the maximum \(limit)"
            outcome.errors.append(error(location, "maxProperties", reason))
        }
        if let limit = node.minProperties, object.count < limit {
            let reason = "object has \(plural(object.count, "property", "properties")), fewer than the minimum \(limit)"
            outcome.errors.append(error(location, "minProperties", reason))
        }
    }

    /// Applies a property's subschema and marks the property evaluated; a
    /// `false` subschema reports the property as not allowed.
    private func applyToProperty(
        _ id: NodeID, _ keyword: String, _ key: String, _ value: JSON, at location: Location, into outcome: inout Outcome
    ) {
        outcome.evaluatedProperties.insert(key)
        if isFalse(id) {
            outcome.errors.append(error(location, keyword, "property '\(key)' is not allowed"))
        } else {
            outcome.errors += evaluate(id, value, at: location.descending(key)).errors
        }
    }

    private func evaluatePropertyNames(_ id: NodeID, _ object: JSONObject, at location: Location, into outcome: inout Outcome) {
        let nameLocation = Location(path: location.path, inPlaceDepth: 0)
        for key in object.keys {
            if isFalse(id) {
                outcome.errors.append(error(location, "propertyNames", "property name '\(key)' is not allowed"))
                continue
            }
            for sub in evaluate(id, .string(key), at: nameLocation).errors {
                outcome.errors.append(error(location, sub.keyword, "invalid property name: \(sub.reason)"))
            }
        }
    }

    /// `unevaluatedProperties`: applies to every property no sibling keyword or
    /// passing in-place subschema evaluated, then marks all properties evaluated.
    func evaluateUnevaluatedProperties(
        _ node: SchemaNode, _ object: JSONObject, at location: Location, into outcome: inout Outcome
    ) {
        guard let id = node.unevaluatedProperties else { return }
        for (key, value) in object where !outcome.evaluatedProperties.contains(key) {
            if isFalse(id) {
                let reason = "property '\(key)' is not allowed (no keyword evaluates it)"
                outcome.errors.append(error(location, "unevaluatedProperties", reason))
            } else {
                outcome.errors += evaluate(id, value, at: location.descending(key)).errors
            }
        }
        outcome.evaluatedProperties.formUnion(object.keys)
    }
}
