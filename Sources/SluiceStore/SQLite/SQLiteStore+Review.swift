import Foundation
import GRDB

/// The human review queue on SQLite.
extension SQLiteStore {
    static let addReviewSQL =
        "INSERT OR IGNORE INTO reviews (\(ReviewColumns.list)) VALUES ("
        + Array(repeating: "?", count: ReviewColumns.names.count).joined(separator: ", ") + ")"

    /// Queues an item; an id already stored is kept as it is (a retried add never undoes a decision).
    public func addReview(_ item: ReviewItem) async throws {
        let values = item.cells(sealedBy: cipher).map(\.databaseValue)
        try await pool.write { db in try db.execute(sql: Self.addReviewSQL, arguments: StatementArguments(values)) }
    }

    /// Items newest first by id, filtered by status and purpose, older than `before`; `limit` is clamped to 0…1000.
    public func reviews(status: ReviewItem.Status?, purpose: String?, limit: Int, before: String?) async throws -> [ReviewItem] {
        let q = ReviewQuery(status: status, purpose: purpose, limit: limit, before: before)
        let sql = q.sql { _ in "?" }
        let values = q.values.map(\.databaseValue)
        let cipher = self.cipher
        return try await pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments(values)).compactMap { Self.reviewItem($0, cipher) }
        }
    }

    /// The item with this id, or `nil`.
    public func review(_ id: String) async throws -> ReviewItem? {
        let cipher = self.cipher
        return try await pool.read { db in try Self.fetchReview(db, id, cipher) }
    }

    /// Decides the item if it is pending, in one conditional `UPDATE`, and reads it back in the same
    /// transaction: an item already decided comes back unchanged, a missing one as `nil`. A `pending`
    /// decision changes nothing.
    public func decideReview(_ id: String, _ decision: ReviewDecision) async throws -> ReviewItem? {
        let cipher = self.cipher
        let values = decision.cells(sealedBy: cipher).map(\.databaseValue)
        let pending = ReviewItem.Status.pending.rawValue
        return try await pool.write { db in
            if decision.status != .pending {
                try db.execute(
                    sql: """
                        UPDATE reviews SET status = ?, edited_output = ?, decided_at_ms = ?, decided_by = ?, note = ?
                        WHERE id = ? AND status = ?
                        """,
                    arguments: StatementArguments(values + [id.databaseValue, pending.databaseValue]))
            }
            return try Self.fetchReview(db, id, cipher)
        }
    }

    static func fetchReview(_ db: Database, _ id: String, _ cipher: BodyCipher?) throws -> ReviewItem? {
        try Row.fetchOne(db, sql: "SELECT \(ReviewColumns.list) FROM reviews WHERE id = ?", arguments: [id])
            .flatMap { reviewItem($0, cipher) }
    }

    static func reviewItem(_ row: Row, _ cipher: BodyCipher?) -> ReviewItem? {
        ReviewItem(cells: cells(row, count: ReviewColumns.names.count), cipher: cipher)
    }
}
