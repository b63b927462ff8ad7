import Foundation
import SluiceCore

/// An operator's override of the `end_users:` defaults for one end user
/// (`PUT /admin/end-users/{user}`): other caps, or blocked altogether.
public struct EndUserLimit: Sendable, Equatable {
    /// The end user, as sent in the request's `user` field or `X-Sluice-User`.
    public var user: String
    /// Spending cap per UTC day; `nil` keeps the default.
    public var dailyBudgetUSD: Double?
    /// Spending cap per UTC calendar month; `nil` keeps the default.
    public var monthlyBudgetUSD: Double?
    /// Requests per minute; `nil` keeps the default.
    public var rpm: Int?
    /// Tokens (input + output) per minute; `nil` keeps the default.
    public var tpm: Int?
    /// Every call of the user is refused.
    public var blocked: Bool
    /// Why, for the refusal and the audit log.
    public var reason: String?
    /// When the override was last written.
    public var updatedAt: Date
    /// Who wrote it.
    public var actor: String

    /// An override; see the properties.
    public init(
        user: String, dailyBudgetUSD: Double? = nil, monthlyBudgetUSD: Double? = nil, rpm: Int? = nil, tpm: Int? = nil,
        blocked: Bool = false, reason: String? = nil, updatedAt: Date, actor: String
    ) {
        self.user = user
        self.dailyBudgetUSD = dailyBudgetUSD
        self.monthlyBudgetUSD = monthlyBudgetUSD
        self.rpm = rpm
        self.tpm = tpm
        self.blocked = blocked
        self.reason = reason
        self.updatedAt = updatedAt
        self.actor = actor
    }
}

/// End-user overrides shared by every node; each change is written with its audit entry.
public protocol EndUserStore: Sendable {
    /// Every override, by user.
    func endUserLimits() async throws -> [EndUserLimit]
    /// Creates or replaces the override of `limit.user` and appends `audit`.
    func putEndUserLimit(_ limit: EndUserLimit, audit: AuditEntry) async throws
    /// Removes the override of `user` and appends `audit`; `false` (and no audit) when there was none.
    func deleteEndUserLimit(user: String, audit: AuditEntry) async throws -> Bool
}

/// The `end_users` columns shared by both backends.
enum EndUserColumns {
    static let names = [
        "user_id", "daily_budget_usd", "monthly_budget_usd", "rpm", "tpm", "blocked", "reason", "updated_at_ms", "actor",
    ]
    static let list = names.joined(separator: ", ")
    /// How each column is stored, in ``names`` order.
    static let kinds: [CallColumns.Kind] = [.text, .double, .double, .int, .int, .int, .text, .int, .text]

    /// The `CREATE TABLE` statement with the backend's integer and real types.
    static func createSQL(integer: String, real: String) -> [String] {
        [
            """
            CREATE TABLE end_users (
                user_id TEXT PRIMARY KEY NOT NULL, daily_budget_usd \(real), monthly_budget_usd \(real), rpm \(integer),
                tpm \(integer), blocked \(integer) NOT NULL DEFAULT 0, reason TEXT, updated_at_ms \(integer) NOT NULL,
                actor TEXT NOT NULL
            )
            """
        ]
    }

    /// `col = excluded.col` for every column but the key: the upsert's update list.
    static let upsertSet = names.dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
}

extension EndUserLimit {
    /// The override as cells in ``EndUserColumns/names`` order.
    var cells: [Cell] {
        [
            .text(user), dailyBudgetUSD.map(Cell.double) ?? .null, monthlyBudgetUSD.map(Cell.double) ?? .null,
            rpm.map { .int(Int64($0)) } ?? .null, tpm.map { .int(Int64($0)) } ?? .null, .int(blocked ? 1 : 0),
            reason.map(Cell.text) ?? .null, .int(updatedAt.millis), .text(actor),
        ]
    }

    /// An override from cells in ``EndUserColumns/names`` order.
    init(cells c: [Cell]) {
        self.init(
            user: c[0].text ?? "", dailyBudgetUSD: c[1].double, monthlyBudgetUSD: c[2].double, rpm: c[3].int.map { Int($0) },
            tpm: c[4].int.map { Int($0) }, blocked: (c[5].int ?? 0) != 0, reason: c[6].text,
            updatedAt: Date(millis: c[7].int ?? 0), actor: c[8].text ?? "")
    }
}
