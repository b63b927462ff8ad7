import Foundation
import SluiceCore
import SluiceJSONSchema

/// One thing an eval case expects of an answer.
public enum EvalExpectation: Sendable, Equatable {
    /// The JSON in the answer has `value` at `path` (JSON equality: `1 == 1.0`, key order ignored).
    case equals(path: JSONPath, value: JSON)
    /// The answer's text contains this text (case-sensitive).
    case contains(String)
    /// The answer's text matches this regular expression somewhere (ICU syntax; `(?i)` ignores case).
    case regex(String)
    /// The answer matched the output schema of the purpose or prompt (`true`), or failed it (`false`).
    case schemaValid(Bool)
    /// An LLM judge scores the answer against a rubric; the score must reach the minimum.
    case judge(JudgeSpec)
    /// The call cost at most this many USD (repairs included, the judge not).
    case maxCostUSD(Double)
    /// The call took at most this many milliseconds.
    case maxLatencyMs(Double)

    /// The keys an `expect:` item may use.
    public static let keys = ["equals", "contains", "regex", "schema_valid", "judge", "max_cost_usd", "max_latency_ms"]

    /// The key it was written with (`equals`, `judge`, …).
    public var kind: String {
        switch self {
        case .equals: "equals"
        case .contains: "contains"
        case .regex: "regex"
        case .schemaValid: "schema_valid"
        case .judge: "judge"
        case .maxCostUSD: "max_cost_usd"
        case .maxLatencyMs: "max_latency_ms"
        }
    }

    /// A short rendering for reports: `equals $.label == "relevant"`.
    public var summary: String {
        switch self {
        case .equals(let path, let value): "equals \(path) == \(Self.short(value.jsonString))"
        case .contains(let text): "contains \(Self.short(JSON.string(text).jsonString))"
        case .regex(let pattern): "regex /\(pattern)/"
        case .schemaValid(let valid): "schema_valid \(valid)"
        case .judge(let spec): "judge (\(spec.model), min \(Decimals.format(spec.min, places: 2, trim: true))) \(Self.short(JSON.string(spec.rubric).jsonString))"
        case .maxCostUSD(let usd): "max_cost_usd \(Decimals.format(usd, places: 8, trim: true))"
        case .maxLatencyMs(let ms): "max_latency_ms \(Decimals.format(ms, places: 1, trim: true))"
        }
    }

    /// Checks every expectation but `judge` (which needs a call; see ``Judge``) against a run's answer.
    func check(_ run: EvalRun) -> CheckResult {
        var result = CheckResult(expectation: summary, kind: kind, passed: false)
        let text = run.output ?? ""
        switch self {
        case .equals(let path, let want):
            guard let (json, _) = JSONExtractor.extract(text) else {
                result.message = "the answer contains no JSON (answer: \(Self.short(text, 120)))"
                return result
            }
            guard let got = path.read(json) else {
                result.message = Self.missing(path, in: json)
                return result
            }
            result.passed = Self.jsonEqual(got, want)
            if !result.passed { result.message = "\(path) is \(Self.short(got.jsonString)), expected \(Self.short(want.jsonString))" }
        case .contains(let needle):
            result.passed = text.contains(needle)
            if !result.passed { result.message = "the answer does not contain \(Self.short(JSON.string(needle).jsonString)) (answer: \(Self.short(text, 120)))" }
        case .regex(let pattern):
            guard let re = try? NSRegularExpression(pattern: pattern) else {
                result.message = "invalid regular expression"
                return result
            }
            result.passed = re.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
            if !result.passed { result.message = "the answer does not match /\(pattern)/ (answer: \(Self.short(text, 120)))" }
        case .schemaValid(let want):
            let valid = run.schemaValid ?? false
            result.passed = valid == want
            if !result.passed {
                result.message = want ? "the answer does not match the output schema: \(run.error ?? "invalid")" : "the answer matches the output schema"
            }
        case .judge:
            result.message = "the judge did not run"
        case .maxCostUSD(let limit):
            guard let cost = run.costUSD else {
                result.message = "the call's cost is unknown (its model has no price; add it under pricing:)"
                return result
            }
            result.passed = cost <= limit + 1e-12
            if !result.passed {
                result.message = "cost $\(Decimals.format(cost, places: 8, trim: true)) is over $\(Decimals.format(limit, places: 8, trim: true))"
            }
        case .maxLatencyMs(let limit):
            result.passed = run.latencyMs <= limit
            if !result.passed { result.message = "latency \(Int(run.latencyMs.rounded())) ms is over \(Decimals.format(limit, places: 1, trim: true)) ms" }
        }
        return result
    }

    /// JSON equality as JSON Schema's `const` defines it (numbers by value, key order ignored).
    static func jsonEqual(_ a: JSON, _ b: JSON) -> Bool {
        guard let schema = try? JSONSchema(["const": b]) else { return a == b }
        return schema.isValid(a)
    }

    /// Why `path` finds nothing in `json`: the deepest part that exists and what it holds.
    static func missing(_ path: JSONPath, in json: JSON) -> String {
        guard let (at, value, step) = path.deepestMatch(in: json) else { return "\(path) is missing" }
        switch step {
        case .key(let k):
            if let obj = value.objectValue {
                let keys = obj.keys.prefix(10).joined(separator: ", ")
                return "\(path) is missing: \(at) has no member '\(k)' (members: \(keys.isEmpty ? "none" : keys))"
            }
            return "\(path) is missing: \(at) is \(value.typeName == "array" ? "an" : "a") \(value.typeName), not an object"
        case .index(let n):
            if let items = value.arrayValue { return "\(path) is missing: \(at) has \(items.count) element\(items.count == 1 ? "" : "s"), no [\(n)]" }
            return "\(path) is missing: \(at) is \(value.typeName == "object" ? "an" : "a") \(value.typeName), not an array"
        }
    }

    /// `text` on one line, cut to `max` characters.
    static func short(_ text: String, _ max: Int = 60) -> String {
        let line = text.replacingOccurrences(of: "\n", with: " ")
        return line.count <= max ? line : String(line.prefix(max - 1)) + "…"
    }
}

/// A `judge:` expectation: the rubric, the configured model that judges, and the lowest passing score.
public struct JudgeSpec: Sendable, Equatable {
    /// What the judge checks, in plain words.
    public var rubric: String
    /// The configured model that judges.
    public var model: String
    /// The lowest passing score, 0…1.
    public var min: Double

    /// The default of ``min``.
    public static let defaultMin = 0.7

    /// A judge; see the properties.
    public init(rubric: String, model: String, min: Double = JudgeSpec.defaultMin) {
        self.rubric = rubric
        self.model = model
        self.min = min
    }
}

/// How one expectation fared on one run.
public struct CheckResult: Sendable, Equatable {
    /// The expectation's ``EvalExpectation/summary``.
    public var expectation: String
    /// Its key (`equals`, `judge`, …), or `call` for a call that failed.
    public var kind: String
    /// Whether it held.
    public var passed: Bool
    /// Why it failed (for a judge: its reason, passed or not).
    public var message: String?
    /// The judge's score, for `judge`.
    public var score: Double?

    /// A result; see the properties.
    public init(expectation: String, kind: String, passed: Bool, message: String? = nil, score: Double? = nil) {
        self.expectation = expectation
        self.kind = kind
        self.passed = passed
        self.message = message
        self.score = score
    }
}
