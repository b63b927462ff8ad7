import Foundation
import GRDB

/// End-user overrides on SQLite: each change and its audit entry in one write transaction.
extension SQLiteStore {
    public func endUserLimits() async throws -> [EndUserLimit] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT \(EndUserColumns.list) FROM end_users ORDER BY user_id")
                .map { EndUserLimit(cells: Self.cells($0, count: EndUserColumns.names.count)) }
        }
    }

    public func putEndUserLimit(_ limit: EndUserLimit, audit: AuditEntry) async throws {
        let cells = limit.cells
        try await pool.write { db in
            let marks = Array(repeating: "?", count: cells.count).joined(separator: ", ")
            try db.execute(
                sql: """
                    INSERT INTO end_users (\(EndUserColumns.list)) VALUES (\(marks))
                    ON CONFLICT (user_id) DO UPDATE SET \(EndUserColumns.upsertSet)
                    """,
                arguments: StatementArguments(cells.map(\.databaseValue)))
            try Self.insertAudit(db, audit)
        }
    }

    public func deleteEndUserLimit(user: String, audit: AuditEntry) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM end_users WHERE user_id = ?", arguments: [user])
            guard db.changesCount > 0 else { return false }
            try Self.insertAudit(db, audit)
            return true
        }
    }
}
