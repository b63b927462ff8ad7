import SluiceCore

extension Evaluator {
    /// `$ref` and `$dynamicRef` (resolved statically): the referenced schema
    /// applies in place; its errors are reported as they are.
    func evaluateReferences(_ node: SchemaNode, _ instance: JSON, at location: Location, into outcome: inout Outcome) {
        for id in [node.ref, node.dynamicRef].compactMap(\.self) {
            outcome.errors += applyInPlace(id, instance, at: location, into: &outcome).errors
        }
    }

    /// `allOf`, `anyOf`, `oneOf`, `not`. Every branch of `anyOf` and `oneOf`
    /// is evaluated (no short cut) so that all passing branches contribute
    /// their evaluated properties and items.
    func evaluateCombinators(_ node: SchemaNode, _ instance: JSON, at location: Location, into outcome: inout Outcome) {
        for id in node.allOf {
            outcome.errors += applyInPlace(id, instance, at: location, into: &outcome).errors
        }
        if !node.anyOf.isEmpty {
            let branches = node.anyOf.map { applyInPlace($0, instance, at: location, into: &outcome) }
            if !branches.contains(where: \.isValid) {
                let reason = "does not match any of the \(branches.count) schemas in anyOf: \(summary(of: branches))"
                outcome.errors.append(error(location, "anyOf", reason))
            }
        }
        if !node.oneOf.isEmpty {
            evaluateOneOf(node.oneOf, instance, at: location, into: &outcome)
        }
        if let id = node.not, evaluate(id, instance, at: location.inPlace).isValid {
            outcome.errors.append(error(location, "not", "must not match the schema in 'not'"))
        }
    }

    private func evaluateOneOf(_ ids: [NodeID], _ instance: JSON, at location: Location, into outcome: inout Outcome) {
        var scratch = Outcome()
        let branches = ids.map { applyInPlace($0, instance, at: location, into: &scratch) }
        let passing = branches.indices.filter { branches[$0].isValid }
        switch passing.count {
        case 1:
            outcome.merge(annotationsOf: branches[passing[0]])
        case 0:
            let reason = "does not match any of the \(branches.count) schemas in oneOf: \(summary(of: branches))"
            outcome.errors.append(error(location, "oneOf", reason))
        default:
            let list = passing.map { "[\($0)]" }.joined(separator: ", ")
            let reason = "matches \(passing.count) schemas in oneOf (\(list)), but must match exactly one"
            outcome.errors.append(error(location, "oneOf", reason))
        }
    }

    /// `if`/`then`/`else`: `if` never fails on its own; its annotations count
    /// when it passes, and `then` or `else` applies in place accordingly.
    func evaluateConditional(_ node: SchemaNode, _ instance: JSON, at location: Location, into outcome: inout Outcome) {
        guard let condition = node.ifSchema else { return }
        let passed = applyInPlace(condition, instance, at: location, into: &outcome).isValid
        if let id = passed ? node.thenSchema : node.elseSchema {
            outcome.errors += applyInPlace(id, instance, at: location, into: &outcome).errors
        }
    }

    /// The most errors quoted per branch in an `anyOf`/`oneOf` message.
    private static let errorsQuotedPerBranch = 2

    /// `[0] /a: expected string, got number; [1] /a: 3 is less than the minimum 5`.
    private func summary(of branches: [Outcome]) -> String {
        branches.enumerated().map { index, branch in
            var quoted = branch.errors.prefix(Self.errorsQuotedPerBranch).map(\.message).joined(separator: "; ")
            if branch.errors.count > Self.errorsQuotedPerBranch {
                quoted += " (+\(branch.errors.count - Self.errorsQuotedPerBranch) more)"
            }
            return "[\(index)] \(quoted)"
        }.joined(separator: "; ")
    }
}
