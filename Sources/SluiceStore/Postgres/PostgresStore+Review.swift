import Foundation
import PostgresNIO

/// The human review queue on PostgreSQL, shared by every node.
extension PostgresStore {
    static let reviewSelectSQL = "SELECT \(ReviewColumns.list) FROM reviews WHERE id = $1"

    static let addReviewSQL =
        "INSERT INTO reviews (\(ReviewColumns.list)) VALUES ("
        + (1...ReviewColumns.names.count).map { "$\($0)" }.joined(separator: ", ") + ") ON CONFLICT (id) DO NOTHING"

    /// Queues an item; an id already stored is kept as it is (a retried add never undoes a decision).
    public func addReview(_ item: ReviewItem) async throws {
        _ = try await rows("add review", Self.addReviewSQL, item.cells(sealedBy: cipher))
    }

    /// Items newest first by id, filtered by status and purpose, older than `before`; `limit` is clamped to 0…1000.
    public func reviews(status: ReviewItem.Status?, purpose: String?, limit: Int, before: String?) async throws -> [ReviewItem] {
        let q = ReviewQuery(status: status, purpose: purpose, limit: limit, before: before)
        return try await rows("list reviews", q.sql { "$\($0)" }, q.values).compactMap(reviewItem)
    }

    /// The item with this id, or `nil`.
    public func review(_ id: String) async throws -> ReviewItem? {
        try await rows("get review", Self.reviewSelectSQL, [.text(id)]).first.flatMap(reviewItem)
    }

    /// Decides the item if it is pending, in one conditional `UPDATE … RETURNING`. When no row
    /// changes, a second statement reads the item: its snapshot is taken after the `UPDATE`, so it
    /// sees a decision another node committed meanwhile (one statement could not, under READ
    /// COMMITTED). An item already decided comes back unchanged, a missing one as `nil`. A
    /// `pending` decision changes nothing.
    public func decideReview(_ id: String, _ decision: ReviewDecision) async throws -> ReviewItem? {
        if decision.status != .pending {
            let updated = try await rows(
                "decide review",
                """
                UPDATE reviews SET status = $1, edited_output = $2, decided_at_ms = $3, decided_by = $4, note = $5
                WHERE id = $6 AND status = 'pending'
                RETURNING \(ReviewColumns.list)
                """, decision.cells(sealedBy: cipher) + [.text(id)])
            if let row = updated.first { return try reviewItem(row) }
        }
        return try await review(id)
    }

    /// The item of a row, its output and note opened with this store's cipher.
    func reviewItem(_ row: PostgresRow) throws -> ReviewItem? {
        ReviewItem(cells: try Self.cells(row, kinds: ReviewColumns.kinds), cipher: cipher)
    }
}
