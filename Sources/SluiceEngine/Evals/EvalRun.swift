import SluiceCore

/// One run of one case for one variant × model (one of its `repeat` runs):
/// the answer, what it used, and how each expectation fared.
public struct EvalRun: Sendable {
    /// The case.
    public var caseIndex: Int
    /// The case's name, if it has one.
    public var caseName: String?
    /// The variant.
    public var variant: String
    /// The prompt version rendered.
    public var promptVersion: String
    /// The model called.
    public var model: String
    /// Which of the case's runs (1-based).
    public var repetition: Int
    /// The call's id (for `GET /admin/calls/{id}`).
    public var callID: String?
    /// The answer's text; for an answer that failed its schema, the raw text.
    public var output: String?
    /// Why the call failed; `nil` when it answered.
    public var error: String?
    /// The error's code (`schema_validation_failed`, `upstream_error`, …).
    public var errorCode: String?
    /// Whether the answer matched the output schema; `nil` when there was none.
    public var schemaValid: Bool?
    /// Input tokens (repairs included).
    public var inputTokens = 0
    /// Output tokens (repairs included).
    public var outputTokens = 0
    /// Whether the call was answered (so its tokens count in the means).
    public var answered = false
    /// What the call cost; `nil` when unpriced or not answered.
    public var costUSD: Double?
    /// Milliseconds from sending the case to its answer.
    public var latencyMs: Double = 0
    /// `hit`, `miss` or `bypass`.
    public var cache = "bypass"
    /// The expectations' results, in the case's order (with a `call` result first when the call failed).
    public var checks: [CheckResult] = []
    /// What the judge calls cost (not counted in ``costUSD``).
    public var judgeCostUSD: Double = 0

    /// Whether every check held.
    public var passed: Bool { checks.allSatisfy(\.passed) }

    /// The checks that failed.
    public var failures: [CheckResult] { checks.filter { !$0.passed } }

    /// `case 3 (swift-job)`.
    public var caseLabel: String { caseName.map { "case \(caseIndex) (\($0))" } ?? "case \(caseIndex)" }

    /// The run as JSON (output cut to 2,000 characters).
    public var json: JSON {
        [
            "case": .int(caseIndex), "name": caseName.map(JSON.string) ?? .null, "variant": .string(variant),
            "prompt_version": .string(promptVersion), "model": .string(model), "repetition": .int(repetition),
            "passed": .bool(passed), "call_id": callID.map(JSON.string) ?? .null,
            "output": output.map { .string($0.count <= 2000 ? $0 : String($0.prefix(2000)) + "…") } ?? .null,
            "error": error.map(JSON.string) ?? .null, "schema_valid": schemaValid.map(JSON.bool) ?? .null,
            "input_tokens": .int(inputTokens), "output_tokens": .int(outputTokens),
            "cost_usd": costUSD.map(JSON.double) ?? .null, "judge_cost_usd": .double(judgeCostUSD),
            "latency_ms": EvalStats.number(latencyMs, places: 1), "cache": .string(cache),
            "checks": .array(
                checks.map {
                    [
                        "expectation": .string($0.expectation), "kind": .string($0.kind), "passed": .bool($0.passed),
                        "message": $0.message.map(JSON.string) ?? .null, "score": $0.score.map(JSON.double) ?? .null,
                    ]
                }),
        ]
    }
}
