import Foundation
import SluiceCore

/// One purpose's calls in one UTC hour, summed at write time.
///
/// The stores keep these in step with the call log: every batch of calls updates the rows of
/// its hours in the same transaction, so a rollup always equals a `GROUP BY` over `calls`
/// (see docs/call-log.md).
public struct CallRollup: Sendable, Equatable {
    /// Start of the UTC hour.
    public var hour: Date
    /// The calls' purpose (shadow runs are under `PURPOSE:shadow`).
    public var purpose: String
    /// Calls in the hour, shadow runs included.
    public var calls: Int
    /// Calls whose status is not `ok` (`error`, `stream_interrupted`, `degraded`).
    public var errors: Int
    /// Calls whose answer was a refusal.
    public var refusals: Int
    /// Calls answered from the cache (`cache` is `hit` or `semantic_hit`).
    public var cacheHits: Int
    /// Shadow runs (rows with `shadow_of` set); they are also counted in ``calls``.
    public var shadows: Int
    /// Sum of `cost_usd`; calls without a price count as 0.
    public var costUSD: Double
    /// Sum of `saved_usd`.
    public var savedUSD: Double
    /// Sum of input tokens.
    public var inputTokens: Int
    /// Sum of output tokens.
    public var outputTokens: Int
    /// Sum of prompt-cached input tokens.
    public var cachedTokens: Int
    /// Calls whose answer was checked against a schema (`schema_valid` set).
    public var schemaChecked: Int
    /// Calls whose answer matched its schema.
    public var schemaValid: Int
    /// ``LatencyHistogram`` slot counts of the calls' total latency (length `bounds.count + 1`).
    public var latency: [Int]

    /// An empty rollup: every count zero.
    public init(hour: Date, purpose: String) {
        self.hour = hour
        self.purpose = purpose
        calls = 0
        errors = 0
        refusals = 0
        cacheHits = 0
        shadows = 0
        costUSD = 0
        savedUSD = 0
        inputTokens = 0
        outputTokens = 0
        cachedTokens = 0
        schemaChecked = 0
        schemaValid = 0
        latency = Array(repeating: 0, count: LatencyHistogram.slotCount)
    }
}
