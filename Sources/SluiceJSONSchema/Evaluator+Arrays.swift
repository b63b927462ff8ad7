import SluiceCore

extension Evaluator {
    /// `prefixItems`, `items`, `contains`/`minContains`/`maxContains`,
    /// `maxItems`, `minItems`, `uniqueItems`.
    func evaluateArray(_ node: SchemaNode, _ items: [JSON], at location: Location, into outcome: inout Outcome) {
        for (index, id) in zip(items.indices, node.prefixItems) {
            outcome.errors += evaluate(id, items[index], at: location.descending(String(index))).errors
            outcome.evaluatedItems.insert(index)
        }
        if let id = node.items {
            let first = node.prefixItems.count
            if isFalse(id), items.count > first {
                let reason =
                    first == 0
                    ? "array must be empty, has \(plural(items.count, "item"))"
                    : "array has \(plural(items.count, "item")), only the first \(first) are allowed"
                outcome.errors.append(error(location, "items", reason))
            } else {
                for index in items.indices.dropFirst(first) {
                    outcome.errors += evaluate(id, items[index], at: location.descending(String(index))).errors
                }
            }
            outcome.evaluatedAllItems = true
        }
        if let id = node.contains { evaluateContains(id, node, items, at: location, into: &outcome) }
        if let limit = node.maxItems, items.count > limit {
            let reason = "array has \(plural(items.count, "item")), more than the maximum \(limit)"
            outcome.errors.append(error(location, "maxItems", reason))
        }
        if let limit = node.minItems, items.count < limit {
            let reason = "array has \(plural(items.count, "item")), fewer than the minimum \(limit)"
            outcome.errors.append(error(location, "minItems", reason))
        }
        if node.uniqueItems, let (i, j) = firstDuplicate(items) {
            outcome.errors.append(error(location, "uniqueItems", "items \(i) and \(j) are equal; items must be unique"))
        }
    }

    private func evaluateContains(
        _ id: NodeID, _ node: SchemaNode, _ items: [JSON], at location: Location, into outcome: inout Outcome
    ) {
        var matches = 0
        for index in items.indices where evaluate(id, items[index], at: location.descending(String(index))).isValid {
            matches += 1
            outcome.evaluatedItems.insert(index)
        }
        let minimum = node.minContains ?? 1
        if matches < minimum {
            let reason =
                matches == 0
                ? "no item matches the 'contains' schema"
                    + (minimum > 1 ? " (at least \(minimum) must)" : "")
                : "\(plural(matches, "item")) \(matches == 1 ? "matches" : "match") the 'contains' schema, fewer than the minimum \(minimum)"
            outcome.errors.append(error(location, node.minContains == nil ? "contains" : "minContains", reason))
        }
        if let maximum = node.maxContains, matches > maximum {
            let reason = "\(plural(matches, "item")) match the 'contains' schema, more than the maximum \(maximum)"
            outcome.errors.append(error(location, "maxContains", reason))
        }
    }

    /// The first pair of equal items (JSON Schema equality), if any.
    private func firstDuplicate(_ items: [JSON]) -> (Int, Int)? {
        guard items.count > 1 else { return nil }
        for j in items.indices.dropFirst() {
            for i in 0..<j where SchemaValue.equal(items[i], items[j]) { return (i, j) }
        }
        return nil
    }

    /// `unevaluatedItems`: applies to every item no sibling keyword or passing
    /// in-place subschema evaluated, then marks all items evaluated.
    func evaluateUnevaluatedItems(_ node: SchemaNode, _ items: [JSON], at location: Location, into outcome: inout Outcome) {
        guard let id = node.unevaluatedItems else { return }
        for index in items.indices where !outcome.evaluated(item: index) {
            if isFalse(id) {
                let reason = "item \(index) is not allowed (no keyword evaluates it)"
                outcome.errors.append(error(location, "unevaluatedItems", reason))
            } else {
                outcome.errors += evaluate(id, items[index], at: location.descending(String(index))).errors
            }
        }
        outcome.evaluatedAllItems = true
    }
}
