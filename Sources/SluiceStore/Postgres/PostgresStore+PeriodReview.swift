import Foundation
import PostgresNIO

/// The weekly review's reads and its period claim on PostgreSQL, shared by every node.
extension PostgresStore {
    /// Failed calls in the window, oldest first; see ``PeriodReviewStore/failedCalls(from:to:limit:)``.
    public func failedCalls(from: Date, to: Date, limit: Int) async throws -> [FailedCall] {
        try await rows("read failed calls", PeriodReviewSQL.failed { "$\($0)" }, PeriodReviewSQL.window(from: from, to: to, limit: limit))
            .compactMap { FailedCall(cells: try Self.cells($0, kinds: PeriodReviewSQL.failedKinds)) }
    }

    /// Negative feedback in the window; see ``PeriodReviewStore/negativeFeedback(from:to:limit:)``.
    public func negativeFeedback(from: Date, to: Date, limit: Int) async throws -> [Feedback] {
        try await rows(
            "read negative feedback", PeriodReviewSQL.negativeFeedback { "$\($0)" }, PeriodReviewSQL.window(from: from, to: to, limit: limit)
        ).compactMap { Feedback(cells: try Self.cells($0, kinds: FeedbackColumns.kinds)) }
    }

    /// Claims the review of `period`: `true` for exactly one caller across nodes.
    public func claimReviewPeriod(_ period: Int64, node: String, at: Date) async throws -> Bool {
        try await !rows(
            "claim review period", PeriodReviewSQL.claim { "$\($0)" } + " RETURNING 1", [.int(period), .text(node), .int(at.millis)]
        ).isEmpty
    }
}
