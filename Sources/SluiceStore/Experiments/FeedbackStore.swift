import Foundation
import SluiceCore

/// What a user (or the application on their behalf) said about one answer:
/// `POST /v1/feedback`. Joined to calls by `call_id` for shadow reports and drift.
public struct Feedback: Sendable, Equatable {
    /// Time-ordered id (`fb_…`).
    public var id: String
    /// The call the feedback is about (a task's last call when it named a task).
    public var callID: String?
    /// The task the client named, if it named one.
    public var taskID: String?
    /// The call's purpose, copied from the call.
    public var purpose: String?
    /// From −1 (wrong) to 1 (right).
    public var score: Double
    /// A short label (`wrong_label`, `helpful`).
    public var label: String?
    /// Free text.
    public var comment: String?
    /// What the user did in the end (`escalate`, the label they chose): compared with outputs.
    public var action: String?
    /// The virtual key that sent it.
    public var keyName: String?
    /// When it was stored.
    public var createdAt: Date

    /// Feedback; see the properties.
    public init(
        id: String, callID: String?, taskID: String? = nil, purpose: String? = nil, score: Double, label: String? = nil,
        comment: String? = nil, action: String? = nil, keyName: String? = nil, createdAt: Date
    ) {
        self.id = id
        self.callID = callID
        self.taskID = taskID
        self.purpose = purpose
        self.score = score
        self.label = label
        self.comment = comment
        self.action = action
        self.keyName = keyName
        self.createdAt = createdAt
    }
}

/// Feedback rows, shared by every node.
public protocol FeedbackStore: Sendable {
    /// Stores one item; an id already stored is kept as it is.
    func addFeedback(_ item: Feedback) async throws
    /// One item by id.
    func feedback(_ id: String) async throws -> Feedback?
    /// Every item about one of these calls, oldest first.
    func feedback(callIDs: [String]) async throws -> [Feedback]
}

/// The column order shared by both backends' feedback statements.
enum FeedbackColumns {
    static let names = [
        "id", "call_id", "task_id", "purpose", "score", "label", "comment", "action", "key_name", "created_at_ms",
    ]
    static let list = names.joined(separator: ", ")

    /// How each column is stored, in ``names`` order.
    static let kinds: [CallColumns.Kind] = names.map { $0 == "score" ? .double : $0.hasSuffix("_ms") ? .int : .text }

    /// Call ids per `IN (…)` statement.
    static let idsPerStatement = 500
}

extension Feedback {
    /// The item as cells in ``FeedbackColumns/names`` order.
    var cells: [Cell] {
        func t(_ s: String?) -> Cell { s.map(Cell.text) ?? .null }
        return [
            .text(id), t(callID), t(taskID), t(purpose), .double(score), t(label), t(comment), t(action), t(keyName),
            .int(createdAt.millis),
        ]
    }

    /// Rebuilds an item from cells in ``FeedbackColumns/names`` order.
    init?(cells c: [Cell]) {
        guard c.count == FeedbackColumns.names.count, let id = c[0].text else { return nil }
        self.init(
            id: id, callID: c[1].text, taskID: c[2].text, purpose: c[3].text, score: c[4].double ?? 0, label: c[5].text,
            comment: c[6].text, action: c[7].text, keyName: c[8].text, createdAt: Date(millis: c[9].int ?? 0))
    }
}
