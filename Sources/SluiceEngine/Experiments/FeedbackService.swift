import Foundation
import SluiceCore
import SluiceStore

/// `POST /v1/feedback`: checks a client's verdict on one answer, finds the call
/// it is about (a task's last call when it names a task) and stores it.
///
/// ```json
/// {"call_id": "call_0193…", "score": -1, "label": "wrong_label", "action": "escalate"}
/// ```
///
/// A key may send feedback only on its own calls and tasks; another key's are
/// answered 404, as if they did not exist. The call log is written in batches,
/// so a call answered a moment ago may not be stored yet: a missing call is
/// looked up again while this node's call log writes (up to two seconds).
public struct FeedbackService: Sendable {
    let store: any SluiceStore
    let callLog: CallLogWriter
    let clock: any WallClock

    /// The fields a feedback body takes.
    static let fields = ["call_id", "task_id", "score", "label", "comment", "action"]
    /// The longest `label`, `comment` or `action`, in characters.
    public static let maxText = 2000
    /// How long a missing call is waited for while the call log writes.
    static let logWait: Duration = .seconds(2)

    /// Validates `body`, resolves its call and stores the feedback; throws 400 or 404 errors.
    public func submit(body: [UInt8], identity: Identity) async throws -> Feedback {
        let input = try Self.parse(body)
        let now = clock.now()
        var item = Feedback(
            id: IDs.make("fb", at: now), callID: nil, taskID: input.taskID, score: input.score, label: input.label,
            comment: input.comment, action: input.action, keyName: identity.keyName, createdAt: now)
        if let callID = input.callID {
            guard let call = try await findCall(callID), identity.isAdmin || call.keyName == identity.keyName else {
                throw SluiceError(
                    .notFound, "No call '\(callID)' for this key. Send the X-Sluice-Call-Id (or call_id) of one of this key's answers.",
                    param: "call_id")
            }
            item.callID = call.callID
            item.purpose = ShadowNames.basePurpose(of: call.purpose) ?? call.purpose
        } else if let taskID = input.taskID {
            guard let task = try await store.task(taskID), identity.isAdmin || task.keyName == identity.keyName else {
                throw SluiceError(.notFound, "No task '\(taskID)' for this key.", param: "task_id")
            }
            guard let last = task.callIDs.last else {
                throw SluiceError.invalidRequest(
                    "Task '\(taskID)' has not made a call yet (status \(task.status.rawValue)); send feedback once it has run.",
                    param: "task_id")
            }
            item.callID = last
            item.purpose = task.purpose
        }
        try await store.addFeedback(item)
        return item
    }

    /// The call with this id; when it is not stored yet, looked up again while this node's
    /// call log still holds records to write (up to ``logWait``).
    func findCall(_ id: String) async throws -> CallRecord? {
        if let call = try await store.get(id) { return call }
        guard id.hasPrefix("call_") else { return nil }
        let deadline = ContinuousClock.now + Self.logWait
        while callLog.pending > 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            if let call = try await store.get(id) { return call }
        }
        return try await store.get(id)
    }

    /// A checked feedback body.
    struct Input {
        var callID: String?
        var taskID: String?
        var score: Double
        var label: String?
        var comment: String?
        var action: String?
    }

    static func parse(_ body: [UInt8]) throws(SluiceError) -> Input {
        let json: JSON
        do { json = try JSON.parse(body) } catch { throw .invalidRequest("The request body is not valid JSON: \(error).") }
        guard let obj = json.objectValue else { throw .invalidRequest("The request body must be a JSON object, got \(json.typeName).") }
        for key in obj.keys where !fields.contains(key) {
            throw .invalidRequest("Unknown field '\(key)'; feedback takes \(fields.joined(separator: ", ")).", param: key)
        }
        func text(_ key: String, max: Int) throws(SluiceError) -> String? {
            guard let v = obj[key], !v.isNull else { return nil }
            guard let s = v.stringValue else { throw .invalidRequest("'\(key)' must be a string, got \(v.typeName).", param: key) }
            guard s.count <= max else { throw .invalidRequest("'\(key)' is \(s.count) characters; at most \(max) are kept.", param: key) }
            return s
        }
        let callID = try text("call_id", max: 200)
        let taskID = try text("task_id", max: 200)
        switch (callID, taskID) {
        case (nil, nil):
            throw .invalidRequest("Name the answer: send 'call_id' (the X-Sluice-Call-Id of the call) or 'task_id'.", param: "call_id")
        case (.some, .some):
            throw .invalidRequest("Send either 'call_id' or 'task_id', not both.", param: "task_id")
        case (.some(let id), nil) where id.isEmpty, (nil, .some(let id)) where id.isEmpty:
            throw .invalidRequest("'call_id' / 'task_id' must not be empty.", param: callID == nil ? "task_id" : "call_id")
        default: break
        }
        guard let scoreValue = obj["score"], !scoreValue.isNull else {
            throw .invalidRequest("'score' is required: a number from -1 (wrong) to 1 (right).", param: "score")
        }
        guard let score = scoreValue.doubleValue, score.isFinite, (-1...1).contains(score) else {
            throw .invalidRequest("'score' must be a number from -1 to 1, got \(scoreValue.jsonString).", param: "score")
        }
        return Input(
            callID: callID, taskID: taskID, score: score, label: try text("label", max: maxText),
            comment: try text("comment", max: maxText), action: try text("action", max: maxText))
    }

    /// The stored feedback as the API answers it.
    public static func json(_ f: Feedback) -> JSON {
        func s(_ v: String?) -> JSON { v.map(JSON.string) ?? .null }
        return [
            "id": .string(f.id), "object": "feedback", "call_id": s(f.callID), "task_id": s(f.taskID), "purpose": s(f.purpose),
            "score": .double(f.score), "label": s(f.label), "comment": s(f.comment), "action": s(f.action),
            "created_at": .string(Timestamp.iso8601(f.createdAt)),
        ]
    }
}
