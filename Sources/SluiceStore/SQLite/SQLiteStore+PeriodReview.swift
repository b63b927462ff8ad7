import Foundation
import GRDB

/// The weekly review's reads and its period claim on SQLite.
extension SQLiteStore {
    /// Failed calls in the window, oldest first; see ``PeriodReviewStore/failedCalls(from:to:limit:)``.
    public func failedCalls(from: Date, to: Date, limit: Int) async throws -> [FailedCall] {
        let values = PeriodReviewSQL.window(from: from, to: to, limit: limit).map(\.databaseValue)
        return try await pool.read { db in
            try Row.fetchAll(db, sql: PeriodReviewSQL.failed { _ in "?" }, arguments: StatementArguments(values))
                .compactMap { FailedCall(cells: Self.cells($0, count: PeriodReviewSQL.failedColumns.count)) }
        }
    }

    /// Negative feedback in the window; see ``PeriodReviewStore/negativeFeedback(from:to:limit:)``.
    public func negativeFeedback(from: Date, to: Date, limit: Int) async throws -> [Feedback] {
        let values = PeriodReviewSQL.window(from: from, to: to, limit: limit).map(\.databaseValue)
        return try await pool.read { db in
            try Row.fetchAll(db, sql: PeriodReviewSQL.negativeFeedback { _ in "?" }, arguments: StatementArguments(values))
                .compactMap { Feedback(cells: Self.cells($0, count: FeedbackColumns.names.count)) }
        }
    }

    /// Claims the review of `period`: `true` for exactly one caller.
    public func claimReviewPeriod(_ period: Int64, node: String, at: Date) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: PeriodReviewSQL.claim { _ in "?" }, arguments: [period, node, at.millis])
            return db.changesCount == 1
        }
    }
}
