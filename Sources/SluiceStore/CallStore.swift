import Foundation
import SluiceCore

/// Which calls to list.
public struct CallFilter: Sendable, Equatable {
    /// Only calls with this purpose; `nil` for any.
    public var purpose: String?
    /// Only calls for this requested model name; `nil` for any.
    public var model: String?
    /// Only calls with this status (`ok`, `error`, `stream_interrupted`); `nil` for any.
    public var status: String?
    /// Only calls of this run; `nil` for any.
    public var runID: String?
    /// Only calls served by this variant (arm) of their purpose; `nil` for any.
    public var variant: String?
    /// Only calls created at or after this time.
    public var since: Date?
    /// Only calls older than this call id (the page cursor).
    public var before: String?
    /// Page size.
    public var limit: Int

    /// A filter whose `nil` fields match every call; `limit` defaults to 50.
    public init(
        purpose: String? = nil, model: String? = nil, status: String? = nil, runID: String? = nil, variant: String? = nil,
        since: Date? = nil, before: String? = nil, limit: Int = 50
    ) {
        self.purpose = purpose
        self.model = model
        self.status = status
        self.runID = runID
        self.variant = variant
        self.since = since
        self.before = before
        self.limit = limit
    }
}

/// A stored virtual key: its name, the SHA-256 of the key, and its scope. The key itself is never stored.
public struct StoredKey: Sendable, Equatable {
    /// The key's name.
    public var name: String
    /// The hex SHA-256 of the key.
    public var keyHash: String
    /// Purposes the key may use; `*` allows all.
    public var purposes: [String]

    /// A stored key from its name, hash and purposes.
    public init(name: String, keyHash: String, purposes: [String]) {
        self.name = name
        self.keyHash = keyHash
        self.purposes = purposes
    }
}

/// The call log: append in batches, read newest first.
public protocol CallStore: Sendable {
    /// Writes records in one transaction; a record whose id exists is replaced.
    func insert(_ records: [CallRecord]) async throws
    /// Lists calls newest first.
    func list(_ filter: CallFilter) async throws -> [CallRecord]
    /// One call by id.
    func get(_ callID: String) async throws -> CallRecord?
    /// Number of stored calls.
    func count() async throws -> Int
}

/// Virtual keys, stored as hashes.
public protocol KeyStore: Sendable {
    /// Inserts or replaces the given keys.
    func upsertKeys(_ keys: [StoredKey]) async throws
    /// Every stored key.
    func listKeys() async throws -> [StoredKey]
}

/// Everything a backend provides: SQLite for one node, PostgreSQL for several.
public protocol SluiceStore: CallStore, KeyStore, QuotaStore, ControlStore, CacheStore, ReviewStore, LedgerStore,
    TaskStore, BatchStore, IdempotencyStore, FlagStore, DriftStore, EvalScoreStore, FeedbackStore, ShadowStore, RollupStore,
    ResponseStore, RuntimeKeyStore, EndUserStore, PeriodReviewStore
{
    /// `sqlite` or `postgres`.
    var backend: String { get }
    /// Change notification between the nodes sharing this store.
    var changes: any ChangeFeed { get }
    /// Runs pending migrations.
    func migrate() async throws
    /// A cheap query that proves the store answers.
    func ping() async throws
    /// Releases connections.
    func close() async throws
}
