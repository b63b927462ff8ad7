import Foundation
import SluiceCore

/// Which calls to list.
public struct CallFilter: Sendable, Equatable {
    public var purpose: String?
    public var model: String?
    public var status: String?
    public var runID: String?
    /// Only calls created at or after this time.
    public var since: Date?
    /// Only calls older than this call id (the page cursor).
    public var before: String?
    /// Page size.
    public var limit: Int

    public init(
        purpose: String? = nil, model: String? = nil, status: String? = nil, runID: String? = nil,
        since: Date? = nil, before: String? = nil, limit: Int = 50
    ) {
        self.purpose = purpose
        self.model = model
        self.status = status
        self.runID = runID
        self.since = since
        self.before = before
        self.limit = limit
    }
}

/// A stored virtual key: its name, the SHA-256 of the key, and its scope. The key itself is never stored.
public struct StoredKey: Sendable, Equatable {
    public var name: String
    public var keyHash: String
    public var purposes: [String]

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

/// Everything a backend provides.
public protocol SluiceStore: CallStore, KeyStore {
    /// Runs pending migrations.
    func migrate() async throws
    /// A cheap query that proves the store answers.
    func ping() async throws
    /// Releases connections.
    func close() async throws
}
