import Foundation
import SluiceCore

/// The column order shared by both backends' task statements.
enum TaskColumns {
    static let names = [
        "id", "purpose", "idempotency_key", "request_hash", "request", "key_name", "webhook_url", "status",
        "attempt_count", "max_attempts", "created_at_ms", "started_at_ms", "finished_at_ms", "heartbeat_at_ms",
        "worker", "error_message", "result", "call_ids",
    ]
    static let list = names.joined(separator: ", ")

    /// How each column is stored, in ``names`` order.
    static let kinds: [CallColumns.Kind] = names.map {
        $0.hasSuffix("_ms") || $0 == "attempt_count" || $0 == "max_attempts" ? .int : .text
    }

    /// The statuses a retry starts from.
    static let retryable = "('failed', 'cancelled', 'needs_review')"
    /// The statuses a run may end with.
    static let finishes: Set<TaskRecord.Status> = [.succeeded, .failed, .needsReview]
}

extension TaskRecord {
    /// The task as cells in ``TaskColumns/names`` order, with `request`, `error_message` and
    /// `result` sealed by `cipher` when there is one.
    func cells(sealedBy cipher: BodyCipher?) -> [Cell] {
        func t(_ s: String?) -> Cell { s.map(Cell.text) ?? .null }
        func d(_ v: Date?) -> Cell { v.map { .int($0.millis) } ?? .null }
        func sealed(_ s: String?) -> Cell { t(BodyCipher.seal(s, with: cipher)) }
        return [
            .text(id), .text(purpose), t(idempotencyKey), .text(requestHash), sealed(request), t(keyName), t(webhookURL),
            .text(status.rawValue), .int(Int64(attemptCount)), .int(Int64(maxAttempts)), .int(createdAt.millis),
            d(startedAt), d(finishedAt), d(heartbeatAt), t(worker), sealed(errorMessage), sealed(result),
            .text(JSON.array(callIDs.map(JSON.string)).jsonString),
        ]
    }

    /// Rebuilds a task from cells in ``TaskColumns/names`` order, opening `request`, `error_message`
    /// and `result` with `cipher` (see ``BodyCipher/open(_:with:)``); `nil` for an unknown status.
    init?(cells c: [Cell], cipher: BodyCipher?) {
        guard c.count == TaskColumns.names.count, let status = c[7].text.flatMap(Status.init(rawValue:)) else {
            return nil
        }
        self.init(
            id: c[0].text ?? "", purpose: c[1].text ?? "", idempotencyKey: c[2].text, requestHash: c[3].text ?? "",
            request: BodyCipher.open(c[4].text, with: cipher) ?? "", keyName: c[5].text, webhookURL: c[6].text, maxAttempts: Int(c[9].int ?? 0),
            createdAt: Date(millis: c[10].int ?? 0))
        self.status = status
        attemptCount = Int(c[8].int ?? 0)
        startedAt = c[11].int.map(Date.init(millis:))
        finishedAt = c[12].int.map(Date.init(millis:))
        heartbeatAt = c[13].int.map(Date.init(millis:))
        worker = c[14].text
        errorMessage = BodyCipher.open(c[15].text, with: cipher)
        result = BodyCipher.open(c[16].text, with: cipher)
        callIDs = (try? JSON.parse(c[17].text ?? "[]"))?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    /// Whether ``request`` was read back sealed with a key the store does not hold
    /// (``BodyCipher/unreadable``): the task cannot run on this node.
    public var requestIsUnreadable: Bool { request == BodyCipher.unreadable }

    /// How a create goes when a row with this task's id or idempotency key is already stored.
    func creation(against existing: TaskRecord) -> TaskCreation {
        existing.requestHash == requestHash ? .existing(existing) : .conflict(existing)
    }
}

/// A page of tasks: the filters as `column op value` clauses, newest first by id.
struct TaskQuery {
    /// Clauses as (`column`, operator, value), joined with `AND`.
    var clauses: [(column: String, op: String, value: Cell)] = []
    /// Rows at most, clamped to 1…1000.
    var limit: Int64

    init(status: TaskRecord.Status?, purpose: String?, keyName: String? = nil, limit: Int, before: String?) {
        if let status { clauses.append(("status", "=", .text(status.rawValue))) }
        if let purpose { clauses.append(("purpose", "=", .text(purpose))) }
        if let keyName { clauses.append(("COALESCE(key_name, '')", "=", .text(keyName))) }
        if let before { clauses.append(("id", "<", .text(before))) }
        self.limit = Int64(max(1, min(limit, 1000)))
    }

    /// The statement, with each value written by `placeholder(n)` (1-based).
    func sql(_ placeholder: (Int) -> String) -> String {
        var sql = "SELECT \(TaskColumns.list) FROM tasks"
        if !clauses.isEmpty {
            sql += " WHERE " + clauses.enumerated().map { "\($1.column) \($1.op) \(placeholder($0 + 1))" }
                .joined(separator: " AND ")
        }
        return sql + " ORDER BY id DESC LIMIT \(placeholder(clauses.count + 1))"
    }

    /// The values in placeholder order, the limit last.
    var values: [Cell] { clauses.map(\.value) + [.int(limit)] }
}

/// The webhook columns shared by both backends.
enum WebhookColumns {
    static let list = "task_id, attempt, at_ms, status, error"
    static let kinds: [CallColumns.Kind] = [.text, .int, .int, .int, .text]
}

extension WebhookAttempt {
    /// The attempt as cells in ``WebhookColumns/list`` order.
    var cells: [Cell] {
        [.text(taskID), .int(Int64(attempt)), .int(at.millis), status.map { .int(Int64($0)) } ?? .null, error.map(Cell.text) ?? .null]
    }

    /// Rebuilds an attempt from cells in ``WebhookColumns/list`` order.
    init(cells c: [Cell]) {
        self.init(
            taskID: c[0].text ?? "", attempt: Int(c[1].int ?? 0), at: Date(millis: c[2].int ?? 0),
            status: c[3].int.map { Int($0) }, error: c[4].text)
    }
}
