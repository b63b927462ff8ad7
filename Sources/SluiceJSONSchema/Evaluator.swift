import SluiceCore

/// The result of applying one schema to one instance location: the errors,
/// and the annotations `unevaluatedProperties`/`unevaluatedItems` need —
/// which properties and items the schema (and its passing in-place
/// subschemas) evaluated.
struct Outcome {
    var errors: [ValidationError] = []
    /// Names of properties evaluated at this location.
    var evaluatedProperties: Set<String> = []
    /// True once `items` or `unevaluatedItems` has covered every item.
    var evaluatedAllItems = false
    /// Indices of items evaluated (`prefixItems`, `contains`).
    var evaluatedItems: Set<Int> = []

    var isValid: Bool { errors.isEmpty }

    /// Adds the annotations of a passing in-place subschema (`allOf`, `$ref`, …).
    mutating func merge(annotationsOf other: Outcome) {
        evaluatedProperties.formUnion(other.evaluatedProperties)
        evaluatedAllItems = evaluatedAllItems || other.evaluatedAllItems
        evaluatedItems.formUnion(other.evaluatedItems)
    }

    /// True when item `index` has been evaluated.
    func evaluated(item index: Int) -> Bool { evaluatedAllItems || evaluatedItems.contains(index) }
}

/// Applies a ``CompiledSchema`` to instances. Keywords are evaluated in
/// dependency order: everything else first, `unevaluated*` last, so they see
/// the annotations of every sibling keyword.
struct Evaluator {
    let schema: CompiledSchema

    /// Where the evaluation is: the instance path, and how many schemas have
    /// been entered at this instance location without descending — a count
    /// above the node count means a reference cycle that never ends.
    struct Location {
        var path: [String]
        var inPlaceDepth: Int

        /// The location of a child value (`/items/2`).
        func descending(_ token: String) -> Location {
            Location(path: path + [token], inPlaceDepth: 0)
        }

        /// The same instance location, one schema deeper.
        var inPlace: Location { Location(path: path, inPlaceDepth: inPlaceDepth + 1) }

        /// The instance path as a JSON Pointer.
        var pointer: String { JSONPointer.string(path) }
    }

    /// Validates `instance` against the root schema.
    func validate(_ instance: JSON) -> [ValidationError] {
        evaluate(schema.root, instance, at: Location(path: [], inPlaceDepth: 0)).errors
    }

    /// Applies node `id` to `instance`.
    func evaluate(_ id: NodeID, _ instance: JSON, at location: Location) -> Outcome {
        let node = schema.nodes[id]
        var outcome = Outcome()
        if let boolean = node.boolean {
            if !boolean { outcome.errors.append(error(location, "false", "no value is allowed here")) }
            return outcome
        }
        guard location.inPlaceDepth <= schema.nodes.count else {
            outcome.errors.append(error(location, "$ref", "the schema refers to itself without end"))
            return outcome
        }
        evaluateReferences(node, instance, at: location, into: &outcome)
        evaluateGeneric(node, instance, at: location, into: &outcome)
        switch instance {
        case .number(let text): evaluateNumber(node, text, at: location, into: &outcome)
        case .string(let text): evaluateString(node, text, at: location, into: &outcome)
        case .array(let items): evaluateArray(node, items, at: location, into: &outcome)
        case .object(let object): evaluateObject(node, object, at: location, into: &outcome)
        default: break
        }
        evaluateCombinators(node, instance, at: location, into: &outcome)
        evaluateConditional(node, instance, at: location, into: &outcome)
        switch instance {
        case .array(let items): evaluateUnevaluatedItems(node, items, at: location, into: &outcome)
        case .object(let object): evaluateUnevaluatedProperties(node, object, at: location, into: &outcome)
        default: break
        }
        return outcome
    }

    /// Applies node `id` in place and merges its annotations when it passes.
    /// Returns its outcome (errors included) for the caller to report.
    func applyInPlace(_ id: NodeID, _ instance: JSON, at location: Location, into outcome: inout Outcome) -> Outcome {
        let sub = evaluate(id, instance, at: location.inPlace)
        if sub.isValid { outcome.merge(annotationsOf: sub) }
        return sub
    }

    /// True when node `id` is the `false` schema.
    func isFalse(_ id: NodeID) -> Bool { schema.nodes[id].boolean == false }

    /// An error at `location`.
    func error(_ location: Location, _ keyword: String, _ reason: String) -> ValidationError {
        ValidationError(instancePath: location.pointer, keyword: keyword, reason: reason)
    }
}
