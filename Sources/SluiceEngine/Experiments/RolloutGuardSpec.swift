import Foundation
import SluiceCore

/// A canary's guard (`PURPOSE.guard`): when the canary arm breaches a limit,
/// its purpose's `variants` flag is put back to what it was before the rollout.
public struct RolloutGuardSpec: Sendable, Equatable {
    /// Roll back when the canary's error rate is above this (0…1).
    public var maxErrorRate: Double?
    /// Roll back when the canary's schema-valid rate is below this (0…1).
    public var minSchemaValidRate: Double?
    /// Calls the canary must have made before a rate is judged.
    public var minCalls = 20
    /// The arm watched (set from the variants change that started the rollout).
    public var canary: String?
    /// When the rollout started; only calls since then count.
    public var since: Date?
    /// The `variants` flag value to restore (`null`: remove the flag, back to the config's).
    public var rollback: JSON = .null

    /// A guard with no limits yet.
    public init() {}

    static let keys: Set<String> = ["max_error_rate", "min_schema_valid_rate", "min_calls", "canary", "since", "rollback"]

    /// Parses the guard as stored or as given by an operator (who gives only the limits).
    public init(json: JSON) throws(VariantError) {
        guard let o = json.objectValue else {
            throw VariantError("a guard is an object such as {\"max_error_rate\": 0.05, \"min_calls\": 20}")
        }
        for k in o.keys where !Self.keys.contains(k) {
            throw VariantError("unknown guard key '\(k)'; use max_error_rate, min_schema_valid_rate, min_calls")
        }
        func rate(_ k: String) throws(VariantError) -> Double? {
            guard let v = o[k], !v.isNull else { return nil }
            guard let d = v.doubleValue, d >= 0, d <= 1 else { throw VariantError("\(k) must be a rate between 0 and 1") }
            return d
        }
        maxErrorRate = try rate("max_error_rate")
        minSchemaValidRate = try rate("min_schema_valid_rate")
        guard maxErrorRate != nil || minSchemaValidRate != nil else {
            throw VariantError("a guard needs max_error_rate and/or min_schema_valid_rate")
        }
        if let v = o["min_calls"], !v.isNull {
            guard let n = v.intValue, n >= 1 else { throw VariantError("min_calls must be a whole number ≥ 1") }
            minCalls = n
        }
        canary = o["canary"]?.stringValue
        since = o["since"]?.stringValue.flatMap { SinceParser.parse($0, now: Date()) }
        rollback = o["rollback"] ?? .null
    }

    /// The guard as stored.
    public var json: JSON {
        var o: JSONObject = ["min_calls": .int(minCalls), "rollback": rollback]
        if let v = maxErrorRate { o["max_error_rate"] = .double(v) }
        if let v = minSchemaValidRate { o["min_schema_valid_rate"] = .double(v) }
        if let c = canary { o["canary"] = .string(c) }
        if let s = since { o["since"] = .string(Timestamp.iso8601(s)) }
        return .object(o)
    }

    /// Why the canary's calls breach the guard, or `nil` while they hold (or are too few).
    public func breach(calls: Int, errors: Int, schemaChecked: Int, schemaValid: Int) -> String? {
        guard calls >= minCalls else { return nil }
        let errorRate = Double(errors) / Double(calls)
        if let max = maxErrorRate, errorRate > max {
            return "canary '\(canary ?? "")' error rate \(Self.percent(errorRate)) over \(calls) calls is above max_error_rate \(Self.percent(max))"
        }
        if let min = minSchemaValidRate, schemaChecked >= minCalls {
            let valid = Double(schemaValid) / Double(schemaChecked)
            if valid < min {
                return "canary '\(canary ?? "")' schema-valid rate \(Self.percent(valid)) over \(schemaChecked) calls is below min_schema_valid_rate \(Self.percent(min))"
            }
        }
        return nil
    }

    static func percent(_ r: Double) -> String { Decimals.format(r * 100, places: 1, trim: true) + "%" }
}
