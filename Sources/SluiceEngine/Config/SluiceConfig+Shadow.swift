import Foundation
import SluiceCore

extension SluiceConfig {
    /// A purpose's `shadow:`: a candidate (another prompt version and/or model)
    /// run in the background on a sample of the purpose's answered calls, never
    /// delaying or failing them, so that both answers can be compared
    /// (`GET /admin/shadow/{purpose}`).
    ///
    /// ```yaml
    /// purposes:
    ///   triage:
    ///     prompt: triage
    ///     model: fast
    ///     shadow: { prompt_version: v5, model: smart, sample: 0.2, daily_budget_usd: 2, max_concurrency: 4 }
    /// ```
    public struct Shadow: Sendable, Equatable {
        /// The prompt version the candidate renders; the purpose's when `nil` (prompt runs only).
        public var promptVersion: String?
        /// The configured model the candidate calls; the purpose's when `nil`.
        public var model: String?
        /// The share of eligible calls shadowed, 0…1.
        public var sample: Double
        /// The candidate's own spending cap per UTC day, against the `PURPOSE:shadow` ledger; none when `nil`.
        public var dailyBudgetUSD: Double?
        /// Shadow runs of this purpose in flight at once on one node; a sample that finds them all busy is skipped.
        public var maxConcurrency: Int

        /// The default of ``maxConcurrency``.
        public static let defaultMaxConcurrency = 4
        /// The keys a shadow takes.
        public static let keys = ["prompt_version", "model", "sample", "daily_budget_usd", "max_concurrency"]

        /// A shadow; see the properties.
        public init(
            promptVersion: String? = nil, model: String? = nil, sample: Double, dailyBudgetUSD: Double? = nil,
            maxConcurrency: Int = Shadow.defaultMaxConcurrency
        ) {
            self.promptVersion = promptVersion
            self.model = model
            self.sample = sample
            self.dailyBudgetUSD = dailyBudgetUSD
            self.maxConcurrency = maxConcurrency
        }

        /// Parses `{prompt_version?, model?, sample, daily_budget_usd?, max_concurrency?}` (the config's
        /// `shadow:` and the `PURPOSE.shadow` flag); the error's message names the key at fault.
        public static func parse(_ json: JSON) throws(ShadowConfigError) -> Shadow {
            guard let obj = json.objectValue else {
                throw ShadowConfigError(#"shadow must be a mapping such as {"model": "smart", "sample": 0.1}"#)
            }
            for key in obj.keys where !keys.contains(key) {
                throw ShadowConfigError("unknown key '\(key)' in shadow; expected one of: \(keys.joined(separator: ", "))")
            }
            func text(_ key: String) throws(ShadowConfigError) -> String? {
                guard let v = obj[key], !v.isNull else { return nil }
                guard let s = v.stringValue, !s.isEmpty else { throw ShadowConfigError("shadow.\(key) must be a non-empty string") }
                return s
            }
            guard let sampleValue = obj["sample"], !sampleValue.isNull else {
                throw ShadowConfigError("shadow needs sample: the share of calls to shadow, from 0 to 1 (1 shadows every call)")
            }
            guard let sample = sampleValue.doubleValue, sample >= 0, sample <= 1 else {
                throw ShadowConfigError("shadow.sample must be a number from 0 to 1, got \(sampleValue.jsonString)")
            }
            var s = Shadow(promptVersion: try text("prompt_version"), model: try text("model"), sample: sample)
            if s.promptVersion == nil && s.model == nil {
                throw ShadowConfigError("shadow needs prompt_version and/or model: the candidate to compare with the live answer")
            }
            if let v = obj["daily_budget_usd"], !v.isNull {
                guard let d = v.doubleValue, d > 0, d.isFinite else {
                    throw ShadowConfigError("shadow.daily_budget_usd must be a positive number of dollars, got \(v.jsonString)")
                }
                s.dailyBudgetUSD = d
            }
            if let v = obj["max_concurrency"], !v.isNull {
                guard let n = v.intValue, (1...256).contains(n) else {
                    throw ShadowConfigError("shadow.max_concurrency must be an integer from 1 to 256, got \(v.jsonString)")
                }
                s.maxConcurrency = n
            }
            return s
        }

        /// The shadow as JSON, in the form ``parse(_:)`` reads.
        public var json: JSON {
            var o: JSONObject = ["sample": .double(sample), "max_concurrency": .int(maxConcurrency)]
            if let promptVersion { o["prompt_version"] = .string(promptVersion) }
            if let model { o["model"] = .string(model) }
            if let dailyBudgetUSD { o["daily_budget_usd"] = .double(dailyBudgetUSD) }
            return .object(o)
        }
    }
}

/// A shadow setting that cannot be used; the message says why.
public struct ShadowConfigError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}
