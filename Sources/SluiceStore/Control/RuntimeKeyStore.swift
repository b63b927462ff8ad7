import Foundation
import SluiceCore

/// A virtual key created at runtime (`POST /admin/keys`): its scope, limits and
/// the SHA-256 of its secret. The secret itself is never stored.
public struct RuntimeKey: Sendable, Equatable {
    /// Time-ordered id (`key_…`).
    public var id: String
    /// The key's name, recorded on its calls and used for its limits.
    public var name: String
    /// The team it belongs to, for reports.
    public var team: String?
    /// Purposes the key may use; `*` allows all.
    public var purposes: [String]
    /// Models the key may call; empty allows all.
    public var models: [String]
    /// The hex SHA-256 of the current secret.
    public var keyHash: String
    /// The secret's first characters, to recognise it (`sk-sl-abcd…`).
    public var prefix: String
    /// When the key stops working; `nil` for never.
    public var expiresAt: Date?
    /// Spending cap per UTC day.
    public var dailyBudgetUSD: Double?
    /// Spending cap per UTC calendar month.
    public var monthlyBudgetUSD: Double?
    /// Requests per minute.
    public var rpm: Int?
    /// Tokens (input + output) per minute.
    public var tpm: Int?
    /// Free-form metadata, as JSON object text.
    public var metadata: String?
    /// When it was created.
    public var createdAt: Date
    /// When it was revoked; `nil` while live.
    public var revokedAt: Date?
    /// The hash of the secret it replaced at its last rotation, valid until ``previousValidUntil``.
    public var previousHash: String?
    /// The end of the last rotation's grace period.
    public var previousValidUntil: Date?

    /// A key; see the properties.
    public init(
        id: String, name: String, team: String? = nil, purposes: [String] = ["*"], models: [String] = [], keyHash: String,
        prefix: String, expiresAt: Date? = nil, dailyBudgetUSD: Double? = nil, monthlyBudgetUSD: Double? = nil, rpm: Int? = nil,
        tpm: Int? = nil, metadata: String? = nil, createdAt: Date, revokedAt: Date? = nil, previousHash: String? = nil,
        previousValidUntil: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.team = team
        self.purposes = purposes
        self.models = models
        self.keyHash = keyHash
        self.prefix = prefix
        self.expiresAt = expiresAt
        self.dailyBudgetUSD = dailyBudgetUSD
        self.monthlyBudgetUSD = monthlyBudgetUSD
        self.rpm = rpm
        self.tpm = tpm
        self.metadata = metadata
        self.createdAt = createdAt
        self.revokedAt = revokedAt
        self.previousHash = previousHash
        self.previousValidUntil = previousValidUntil
    }
}

/// Virtual keys created at runtime, shared by every node. Each change is written
/// with its audit entry in one transaction.
public protocol RuntimeKeyStore: Sendable {
    /// Stores a new key and appends `audit`.
    func createRuntimeKey(_ key: RuntimeKey, audit: AuditEntry) async throws
    /// Every runtime key, revoked ones included, oldest first.
    func runtimeKeys() async throws -> [RuntimeKey]
    /// One key by id.
    func runtimeKey(id: String) async throws -> RuntimeKey?
    /// Marks a live key revoked at `at` and appends `audit`; returns the key as it is now,
    /// or `nil` (and no audit entry) when no live key has that id.
    func revokeRuntimeKey(id: String, at: Date, audit: AuditEntry) async throws -> RuntimeKey?
    /// Gives a live key a new secret hash and prefix; the old hash stays valid until
    /// `previousValidUntil` (`nil`: not at all). Appends `audit`; returns the key as it is now,
    /// or `nil` (and no audit entry) when no live key has that id.
    func rotateRuntimeKey(id: String, keyHash: String, prefix: String, previousValidUntil: Date?, audit: AuditEntry) async throws
        -> RuntimeKey?
}

/// The `runtime_keys` columns shared by both backends.
enum RuntimeKeyColumns {
    static let names = [
        "id", "name", "team", "purposes", "models", "key_hash", "prefix", "expires_at_ms", "daily_budget_usd",
        "monthly_budget_usd", "rpm", "tpm", "metadata", "created_at_ms", "revoked_at_ms", "previous_hash",
        "previous_valid_until_ms",
    ]
    static let list = names.joined(separator: ", ")
    /// How each column is stored, in ``names`` order.
    static let kinds: [CallColumns.Kind] = names.map { name in
        if name.hasSuffix("_ms") || name == "rpm" || name == "tpm" { return .int }
        return name.hasSuffix("_usd") ? .double : .text
    }

    /// The `CREATE TABLE` statements with the backend's integer and real types.
    static func createSQL(integer: String, real: String) -> [String] {
        [
            """
            CREATE TABLE runtime_keys (
                id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, team TEXT, purposes TEXT NOT NULL, models TEXT NOT NULL,
                key_hash TEXT NOT NULL, prefix TEXT NOT NULL, expires_at_ms \(integer), daily_budget_usd \(real),
                monthly_budget_usd \(real), rpm \(integer), tpm \(integer), metadata TEXT, created_at_ms \(integer) NOT NULL,
                revoked_at_ms \(integer), previous_hash TEXT, previous_valid_until_ms \(integer)
            )
            """,
            "CREATE UNIQUE INDEX runtime_keys_hash ON runtime_keys(key_hash)",
        ]
    }
}

extension RuntimeKey {
    /// The key as cells in ``RuntimeKeyColumns/names`` order.
    var cells: [Cell] {
        func t(_ s: String?) -> Cell { s.map(Cell.text) ?? .null }
        func d(_ v: Double?) -> Cell { v.map(Cell.double) ?? .null }
        func i(_ v: Int?) -> Cell { v.map { .int(Int64($0)) } ?? .null }
        func ms(_ v: Date?) -> Cell { v.map { .int($0.millis) } ?? .null }
        func list(_ l: [String]) -> Cell { .text(JSON.array(l.map(JSON.string)).jsonString) }
        return [
            .text(id), .text(name), t(team), list(purposes), list(models), .text(keyHash), .text(prefix), ms(expiresAt),
            d(dailyBudgetUSD), d(monthlyBudgetUSD), i(rpm), i(tpm), t(metadata), .int(createdAt.millis), ms(revokedAt),
            t(previousHash), ms(previousValidUntil),
        ]
    }

    /// A key from cells in ``RuntimeKeyColumns/names`` order.
    init(cells c: [Cell]) {
        func list(_ cell: Cell) -> [String] {
            cell.text.flatMap { try? JSON.parse($0) }?.arrayValue?.compactMap(\.stringValue) ?? []
        }
        func date(_ cell: Cell) -> Date? { cell.int.map { Date(millis: $0) } }
        self.init(
            id: c[0].text ?? "", name: c[1].text ?? "", team: c[2].text, purposes: list(c[3]), models: list(c[4]),
            keyHash: c[5].text ?? "", prefix: c[6].text ?? "", expiresAt: date(c[7]), dailyBudgetUSD: c[8].double,
            monthlyBudgetUSD: c[9].double, rpm: c[10].int.map { Int($0) }, tpm: c[11].int.map { Int($0) }, metadata: c[12].text,
            createdAt: date(c[13]) ?? Date(timeIntervalSince1970: 0), revokedAt: date(c[14]), previousHash: c[15].text,
            previousValidUntil: date(c[16]))
    }
}
