import Foundation

/// One ledger entry: what one call cost (all its upstream attempts, repairs
/// included) or, for a cache hit, what it saved. The ledger is the single source
/// of every spend total; it is written in the same transaction as the call record.
public struct LedgerEntry: Sendable, Equatable {
    /// The call's id (one entry per call).
    public var callID: String
    /// When the call was made.
    public var at: Date
    /// `call` (an upstream answer or failure that cost money) or `cache_hit`.
    public var kind: String
    /// The purpose (`triage`, `triage:shadow`, `eval`…).
    public var purpose: String
    /// The virtual key's name.
    public var key: String?
    /// The end user.
    public var user: String?
    /// The run id.
    public var runID: String?
    /// The model name asked for.
    public var model: String
    /// The provider that answered.
    public var provider: String?
    /// The prompt version rendered.
    public var promptVersion: String?
    /// USD spent (0 for a cache hit).
    public var costUSD: Double
    /// USD saved (a cache hit's original cost, or provider prompt-cache savings).
    public var savedUSD: Double
    /// Input tokens.
    public var inputTokens: Int
    /// Output tokens.
    public var outputTokens: Int

    /// An entry; see the properties.
    public init(
        callID: String, at: Date, kind: String, purpose: String, key: String?, user: String?, runID: String?, model: String,
        provider: String?, promptVersion: String?, costUSD: Double, savedUSD: Double, inputTokens: Int, outputTokens: Int
    ) {
        self.callID = callID
        self.at = at
        self.kind = kind
        self.purpose = purpose
        self.key = key
        self.user = user
        self.runID = runID
        self.model = model
        self.provider = provider
        self.promptVersion = promptVersion
        self.costUSD = costUSD
        self.savedUSD = savedUSD
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
    }
}

/// What ledger totals can be grouped by.
public enum LedgerDimension: String, Sendable, CaseIterable {
    case purpose, model, key, user, provider, run
}

/// A sum of ledger entries, for one group or for everything.
public struct LedgerTotal: Sendable, Equatable {
    /// The group's value (`nil` for entries without one, or for the ungrouped total).
    public var group: String?
    /// USD spent.
    public var costUSD: Double
    /// USD saved.
    public var savedUSD: Double
    /// Entries (calls).
    public var calls: Int
    /// Input tokens.
    public var inputTokens: Int
    /// Output tokens.
    public var outputTokens: Int

    /// A total; see the properties.
    public init(group: String?, costUSD: Double, savedUSD: Double, calls: Int, inputTokens: Int, outputTokens: Int) {
        self.group = group
        self.costUSD = costUSD
        self.savedUSD = savedUSD
        self.calls = calls
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
    }
}

/// Calls and failed calls in a window, for error-rate alerts.
public struct CallCounts: Sendable, Equatable {
    /// Calls with a final status.
    public var calls: Int
    /// Of them, those with status `error` or `stream_interrupted`.
    public var errors: Int

    /// Counts; see the properties.
    public init(calls: Int, errors: Int) {
        self.calls = calls
        self.errors = errors
    }
}

/// Reads the ledger. Entries are written by ``CallStore/insert(_:)``: every
/// record with a cost (`cost_usd` not null and > 0) or a cache hit (`cache` is
/// `hit` or `semantic_hit`) gets exactly one entry, in the same transaction; a
/// record inserted again (same call id) replaces its entry, never doubles it.
public protocol LedgerStore: Sendable {
    /// The entry of one call, if it has one.
    func ledgerEntry(callID: String) async throws -> LedgerEntry?
    /// Totals of entries with `from <= at < to`, grouped by `by` (one ungrouped row when `nil`),
    /// optionally only one purpose. Groups sorted by cost, highest first.
    func ledgerTotals(from: Date, to: Date, by: LedgerDimension?, purpose: String?) async throws -> [LedgerTotal]
    /// USD spent per UTC day (`YYYY-MM-DD`) with `from <= at < to`, optionally one purpose; days without spend are absent.
    func ledgerDaily(from: Date, to: Date, purpose: String?) async throws -> [String: Double]
    /// Calls and errors (from the call records) created with `from <= created_at < to`, optionally one purpose.
    func callCounts(from: Date, to: Date, purpose: String?) async throws -> CallCounts
    /// Per group of `by`, the nearest-rank p50/p95/p99 latency of the calls (from the call records)
    /// created with `from <= created_at < to`, shadow runs left out; in no particular order.
    func latencyPercentiles(from: Date, to: Date, by: LedgerDimension) async throws -> [GroupLatency]
}
