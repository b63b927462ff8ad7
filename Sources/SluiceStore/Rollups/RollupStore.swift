import Foundation

/// Hourly call rollups, maintained by the call log's batch insert (see ``CallRollup``).
public protocol RollupStore: Sendable {
    /// Rollups whose hour starts in [from, to), any order; purpose nil = all purposes.
    func rollups(from: Date, to: Date, purpose: String?) async throws -> [CallRollup]
}
