import Foundation
import GRDB
import SluiceCore

/// Feedback and shadow pairs on SQLite.
extension SQLiteStore {
    static let addFeedbackSQL =
        "INSERT OR IGNORE INTO feedback (\(FeedbackColumns.list)) VALUES ("
        + Array(repeating: "?", count: FeedbackColumns.names.count).joined(separator: ", ") + ")"

    /// Stores one item; an id already stored is kept as it is.
    public func addFeedback(_ item: Feedback) async throws {
        let values = item.cells.map(\.databaseValue)
        try await pool.write { db in try db.execute(sql: Self.addFeedbackSQL, arguments: StatementArguments(values)) }
    }

    /// The item with this id, or `nil`.
    public func feedback(_ id: String) async throws -> Feedback? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(FeedbackColumns.list) FROM feedback WHERE id = ?", arguments: [id])
                .flatMap { Feedback(cells: Self.cells($0, count: FeedbackColumns.names.count)) }
        }
    }

    /// Every item about one of these calls, oldest first.
    public func feedback(callIDs: [String]) async throws -> [Feedback] {
        guard !callIDs.isEmpty else { return [] }
        let chunks = stride(from: 0, to: callIDs.count, by: FeedbackColumns.idsPerStatement).map {
            Array(callIDs[$0..<min($0 + FeedbackColumns.idsPerStatement, callIDs.count)])
        }
        let items = try await pool.read { db in
            try chunks.flatMap { ids in
                let marks = Array(repeating: "?", count: ids.count).joined(separator: ", ")
                return try Row.fetchAll(
                    db, sql: "SELECT \(FeedbackColumns.list) FROM feedback WHERE call_id IN (\(marks))",
                    arguments: StatementArguments(ids.map(\.databaseValue))
                ).compactMap { Feedback(cells: Self.cells($0, count: FeedbackColumns.names.count)) }
            }
        }
        return items.sorted { $0.id < $1.id }
    }

    /// Shadow runs of `purpose` with their primaries, newest first.
    public func shadowPairs(purpose: String, since: Date, limit: Int) async throws -> [ShadowPair] {
        let sql = ShadowSQL.select(quote: { "\"\($0)\"" }, placeholder: { _ in "?" })
        let values = ShadowSQL.values(purpose: purpose, since: since, limit: limit).map(\.databaseValue)
        let width = CallColumns.names.count
        let cipher = self.cipher
        return try await pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments(values)).map { row in
                let all = Self.cells(row, count: 2 * width)
                return ShadowPair(
                    primary: CallRecord(cells: Array(all[..<width]), cipher: cipher),
                    shadow: CallRecord(cells: Array(all[width...]), cipher: cipher))
            }
        }
    }
}
