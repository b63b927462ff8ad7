import Foundation
import SluiceCore

/// A failed call as the weekly review groups it: when, where and what the client was told.
public struct FailedCall: Sendable, Equatable {
    /// The call's id.
    public var callID: String
    /// When the call started.
    public var createdAt: Date
    /// The call's purpose.
    public var purpose: String
    /// The provider Sluice called last; `nil` when the call failed before reaching one.
    public var provider: String?
    /// `error` or `stream_interrupted`.
    public var status: String
    /// The HTTP status the client got.
    public var httpStatus: Int
    /// The error message the client got.
    public var error: String?

    /// A failed call; see the properties.
    public init(callID: String, createdAt: Date, purpose: String, provider: String?, status: String, httpStatus: Int, error: String?) {
        self.callID = callID
        self.createdAt = createdAt
        self.purpose = purpose
        self.provider = provider
        self.status = status
        self.httpStatus = httpStatus
        self.error = error
    }
}

/// The reads the weekly review needs beyond the ledger, and the claim that makes one node post it.
public protocol PeriodReviewStore: Sendable {
    /// Failed calls (status `error` or `stream_interrupted`, shadow runs left out) created with
    /// `from <= created_at < to`, oldest first, at most `limit`.
    func failedCalls(from: Date, to: Date, limit: Int) async throws -> [FailedCall]
    /// Feedback with a negative score stored with `from <= created_at < to`, most negative first
    /// (then newest first), at most `limit`.
    func negativeFeedback(from: Date, to: Date, limit: Int) async throws -> [Feedback]
    /// Claims the posting of the review for `period` (one per `review.every`): `true` for exactly one caller across nodes.
    func claimReviewPeriod(_ period: Int64, node: String, at: Date) async throws -> Bool
}

/// The statements both backends share; `p` makes the n-th (1-based) placeholder.
enum PeriodReviewSQL {
    static let failedColumns = ["call_id", "created_at_ms", "purpose", "provider", "status", "http_status", "error"]
    static let failedKinds: [CallColumns.Kind] = [.text, .int, .text, .text, .text, .int, .text]

    static func failed(_ p: (Int) -> String) -> String {
        """
        SELECT \(failedColumns.joined(separator: ", ")) FROM calls
        WHERE created_at_ms >= \(p(1)) AND created_at_ms < \(p(2)) AND status IN ('error', 'stream_interrupted') AND shadow_of IS NULL
        ORDER BY created_at_ms, call_id LIMIT \(p(3))
        """
    }

    static func negativeFeedback(_ p: (Int) -> String) -> String {
        """
        SELECT \(FeedbackColumns.list) FROM feedback
        WHERE created_at_ms >= \(p(1)) AND created_at_ms < \(p(2)) AND score < 0
        ORDER BY score, created_at_ms DESC, id DESC LIMIT \(p(3))
        """
    }

    static func claim(_ p: (Int) -> String) -> String {
        "INSERT INTO review_periods (period, node, at_ms) VALUES (\(p(1)), \(p(2)), \(p(3))) ON CONFLICT DO NOTHING"
    }

    static func window(from: Date, to: Date, limit: Int) -> [Cell] { [.int(from.millis), .int(to.millis), .int(Int64(max(1, limit)))] }

    /// Migration 022: one row per posted review period.
    static func createSQL(integer: String) -> [String] {
        ["CREATE TABLE review_periods (period \(integer) PRIMARY KEY NOT NULL, node TEXT NOT NULL, at_ms \(integer) NOT NULL)"]
    }
}

extension FailedCall {
    /// Rebuilds a failed call from cells in ``PeriodReviewSQL/failedColumns`` order.
    init?(cells c: [Cell]) {
        guard c.count == PeriodReviewSQL.failedColumns.count, let id = c[0].text, let at = c[1].int, let purpose = c[2].text else { return nil }
        self.init(
            callID: id, createdAt: Date(millis: at), purpose: purpose, provider: c[3].text, status: c[4].text ?? "error",
            httpStatus: Int(c[5].int ?? 0), error: c[6].text)
    }
}
