import Foundation

/// One output held for a person to approve, reject or edit.
public struct ReviewItem: Sendable, Equatable {
    /// Where an item is in its life.
    public enum Status: String, Sendable, CaseIterable {
        case pending, approved, rejected, edited
    }

    /// Time-ordered id (`rev_…`).
    public var id: String
    /// The call whose output is held.
    public var callID: String
    /// The task the call ran for, if any.
    public var taskID: String?
    /// The purpose.
    public var purpose: String
    /// Why it is held: `always`, `schema_invalid`, `guard_flagged:RULE`.
    public var reason: String
    /// The current status.
    public var status: Status
    /// The output as the model gave it.
    public var output: String
    /// The output a reviewer wrote instead (`edited`).
    public var editedOutput: String?
    /// When it was queued.
    public var createdAt: Date
    /// When it was decided.
    public var decidedAt: Date?
    /// Who decided.
    public var decidedBy: String?
    /// The reviewer's note.
    public var note: String?

    /// An item; see the properties.
    public init(
        id: String, callID: String, taskID: String? = nil, purpose: String, reason: String, status: Status = .pending,
        output: String, editedOutput: String? = nil, createdAt: Date, decidedAt: Date? = nil, decidedBy: String? = nil,
        note: String? = nil
    ) {
        self.id = id
        self.callID = callID
        self.taskID = taskID
        self.purpose = purpose
        self.reason = reason
        self.status = status
        self.output = output
        self.editedOutput = editedOutput
        self.createdAt = createdAt
        self.decidedAt = decidedAt
        self.decidedBy = decidedBy
        self.note = note
    }
}

/// A reviewer's decision.
public struct ReviewDecision: Sendable, Equatable {
    /// `approved`, `rejected` or `edited` (never `pending`).
    public var status: ReviewItem.Status
    /// The replacement output, for `edited`.
    public var editedOutput: String?
    /// Who decided.
    public var actor: String
    /// Why, optionally.
    public var note: String?
    /// When.
    public var at: Date

    /// A decision; see the properties.
    public init(status: ReviewItem.Status, editedOutput: String? = nil, actor: String, note: String? = nil, at: Date) {
        self.status = status
        self.editedOutput = editedOutput
        self.actor = actor
        self.note = note
        self.at = at
    }
}

/// The human review queue, shared by every node.
public protocol ReviewStore: Sendable {
    /// Queues an item.
    func addReview(_ item: ReviewItem) async throws
    /// Items newest first, filtered by status and purpose (`nil` for any), at most `limit`, older than `before` (an id).
    func reviews(status: ReviewItem.Status?, purpose: String?, limit: Int, before: String?) async throws -> [ReviewItem]
    /// One item.
    func review(_ id: String) async throws -> ReviewItem?
    /// Decides a pending item and returns it decided. An item already decided is
    /// returned unchanged (the first decision wins, also across nodes); `nil` when there is no such item.
    func decideReview(_ id: String, _ decision: ReviewDecision) async throws -> ReviewItem?
}
