import Foundation
import PostgresNIO

/// End-user overrides on PostgreSQL. Each change and its audit entry are one
/// statement, so neither is ever written without the other.
extension PostgresStore {
    public func endUserLimits() async throws -> [EndUserLimit] {
        try await rows("read end users", "SELECT \(EndUserColumns.list) FROM end_users ORDER BY user_id")
            .map { EndUserLimit(cells: try Self.cells($0, kinds: EndUserColumns.kinds)) }
    }

    public func putEndUserLimit(_ limit: EndUserLimit, audit: AuditEntry) async throws {
        let count = EndUserColumns.names.count
        let marks = (1...count).map { "$\($0)" }.joined(separator: ", ")
        _ = try await rows(
            "put end user",
            """
            WITH u AS (
                INSERT INTO end_users (\(EndUserColumns.list)) VALUES (\(marks))
                ON CONFLICT (user_id) DO UPDATE SET \(EndUserColumns.upsertSet) RETURNING 1
            ), a AS (\(Self.auditInsert) VALUES (\(Self.auditMarks(from: count + 1))) RETURNING 1)
            SELECT 1 FROM u, a
            """, limit.cells + Self.auditCells(audit))
    }

    public func deleteEndUserLimit(user: String, audit: AuditEntry) async throws -> Bool {
        try await !rows(
            "delete end user",
            """
            WITH d AS (DELETE FROM end_users WHERE user_id = $1 RETURNING 1),
            a AS (\(Self.auditInsert) SELECT \(Self.auditMarks(from: 2)) FROM d RETURNING 1)
            SELECT 1 FROM d
            """, [.text(user)] + Self.auditCells(audit)
        ).isEmpty
    }
}
