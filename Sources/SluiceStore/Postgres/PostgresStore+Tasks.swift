import Foundation
import PostgresNIO

/// Durable tasks on PostgreSQL, shared by every node: each transition is one conditional
/// statement, and a claim locks the rows it picks with `FOR UPDATE SKIP LOCKED`.
extension PostgresStore {
    static let taskSelectSQL = "SELECT \(TaskColumns.list) FROM tasks WHERE id = $1"

    static let insertTaskSQL =
        "INSERT INTO tasks (\(TaskColumns.list)) VALUES ("
        + (1...TaskColumns.names.count).map { "$\($0)" }.joined(separator: ", ") + ") ON CONFLICT DO NOTHING RETURNING "
        + TaskColumns.list

    /// The picked rows are a materialized CTE: evaluated once, so a plan that rescans a `FROM`
    /// subquery cannot pick (and claim) more than `limit` rows. `filter` is the purpose clause.
    static func claimTasksSQL(filter: String) -> String {
        """
        WITH c AS MATERIALIZED (
            SELECT id FROM tasks WHERE status = 'queued'\(filter) ORDER BY id LIMIT $3
            FOR UPDATE SKIP LOCKED
        )
        UPDATE tasks t SET status = 'running', attempt_count = t.attempt_count + 1, started_at_ms = $1,
            heartbeat_at_ms = $1, worker = $2
        FROM c
        WHERE t.id = c.id AND t.status = 'queued'
        RETURNING \(TaskColumns.names.map { "t.\($0)" }.joined(separator: ", "))
        """
    }

    static let sweepTasksSQL = """
        UPDATE tasks SET
            status = CASE WHEN attempt_count < max_attempts THEN 'queued' ELSE 'failed' END,
            worker = CASE WHEN attempt_count < max_attempts THEN NULL ELSE worker END,
            error_message = CASE WHEN attempt_count < max_attempts THEN error_message ELSE $1::text END,
            finished_at_ms = CASE WHEN attempt_count < max_attempts THEN NULL ELSE $2::bigint END
        WHERE status = 'running' AND heartbeat_at_ms < $3
        RETURNING \(TaskColumns.list)
        """

    /// Writes a queued task with `INSERT … ON CONFLICT DO NOTHING`. On a collision (the statement waits
    /// for a concurrent insert of the same key to commit) a second statement, whose snapshot is taken
    /// after it, reads the row with the same idempotency key under the same key name (or the same id):
    /// the same request hash is `existing`, another is `conflict`.
    public func createTask(_ task: TaskRecord) async throws -> TaskCreation {
        if let row = try await rows("create task", Self.insertTaskSQL, task.cells(sealedBy: cipher)).first {
            return .created(try taskRecord(row) ?? task)
        }
        if let key = task.idempotencyKey {
            let found = try await rows(
                "find task by idempotency key",
                """
                SELECT \(TaskColumns.list) FROM tasks
                WHERE COALESCE(key_name, '') = COALESCE($1::text, '') AND idempotency_key = $2
                """, [task.keyName.map(Cell.text) ?? .null, .text(key)])
            if let row = found.first, let existing = try taskRecord(row) { return task.creation(against: existing) }
        }
        guard let existing = try await self.task(task.id) else {
            throw PostgresStoreError(operation: "create task", kind: .other, detail: "the task collides with no readable row")
        }
        return task.creation(against: existing)
    }

    /// The task with this id, or `nil`.
    public func task(_ id: String) async throws -> TaskRecord? {
        try await rows("get task", Self.taskSelectSQL, [.text(id)]).first.flatMap(taskRecord)
    }

    /// Tasks newest first by id, filtered by status, purpose and owning key, older than `before`; `limit` is clamped to 1…1000.
    public func tasks(status: TaskRecord.Status?, purpose: String?, keyName: String?, limit: Int, before: String?) async throws -> [TaskRecord] {
        let q = TaskQuery(status: status, purpose: purpose, keyName: keyName, limit: limit, before: before)
        return try await rows("list tasks", q.sql { "$\($0)" }, q.values).compactMap(taskRecord)
    }

    /// Claims up to `limit` queued tasks of the filtered purposes, oldest (lowest id) first; concurrent claimers take disjoint tasks.
    public func claimTasks(worker: String, limit: Int, now: Date, purposes: TaskClaimFilter) async throws -> [TaskRecord] {
        guard limit > 0, let filter = purposes.clause({ "$\($0 + 4)" }) else { return [] }
        let values: [Cell] = [.int(now.millis), .text(worker), .int(Int64(limit))] + filter.values
        return try await rows("claim tasks", Self.claimTasksSQL(filter: filter.sql), values)
            .compactMap(taskRecord)
            .sorted { $0.id < $1.id }
    }

    /// Refreshes the heartbeat of run `attempt` if `worker` still holds it.
    public func heartbeatTask(_ id: String, worker: String, attempt: Int, now: Date) async throws -> Bool {
        try await !rows(
            "heartbeat task",
            """
            UPDATE tasks SET heartbeat_at_ms = $1
            WHERE id = $2 AND worker = $3 AND attempt_count = $4 AND status = 'running' RETURNING 1
            """,
            [.int(now.millis), .text(id), .text(worker), .int(Int64(attempt))]
        ).isEmpty
    }

    /// Appends a call id to the task's `call_ids` array in one `UPDATE` (jsonb concatenation).
    public func addTaskCall(_ id: String, callID: String) async throws {
        _ = try await rows(
            "add task call",
            "UPDATE tasks SET call_ids = (call_ids::jsonb || jsonb_build_array($1::text))::text WHERE id = $2",
            [.text(callID), .text(id)])
    }

    /// Ends run `attempt` if `worker` still holds it; `nil` when stale or when `status` is not an end of a run.
    public func finishTask(
        _ id: String, worker: String, attempt: Int, status: TaskRecord.Status, result: String?, error: String?, now: Date
    ) async throws -> TaskRecord? {
        guard TaskColumns.finishes.contains(status) else { return nil }
        return try await rows(
            "finish task",
            """
            UPDATE tasks SET status = $1, result = $2, error_message = $3, finished_at_ms = $4
            WHERE id = $5 AND worker = $6 AND attempt_count = $7 AND status = 'running'
            RETURNING \(TaskColumns.list)
            """,
            [
                .text(status.rawValue), BodyCipher.seal(result, with: cipher).map(Cell.text) ?? .null,
                BodyCipher.seal(error, with: cipher).map(Cell.text) ?? .null, .int(now.millis),
                .text(id), .text(worker), .int(Int64(attempt)),
            ]
        ).first.flatMap(taskRecord)
    }

    /// Requeues a failed, cancelled or needs-review task; otherwise returns it unchanged (`nil` when missing).
    public func retryTask(_ id: String, now: Date) async throws -> TaskRecord? {
        try await taskTransition(
            "retry task", id,
            """
            UPDATE tasks SET status = 'queued', error_message = NULL, result = NULL, started_at_ms = NULL,
                finished_at_ms = NULL, heartbeat_at_ms = NULL, worker = NULL
            WHERE id = $1 AND status IN \(TaskColumns.retryable)
            RETURNING \(TaskColumns.list)
            """, [.text(id)])
    }

    /// Cancels a queued task; otherwise returns it unchanged (`nil` when missing).
    public func cancelTask(_ id: String, now: Date) async throws -> TaskRecord? {
        try await taskTransition(
            "cancel task", id,
            """
            UPDATE tasks SET status = 'cancelled', finished_at_ms = $2 WHERE id = $1 AND status = 'queued'
            RETURNING \(TaskColumns.list)
            """, [.text(id), .int(now.millis)])
    }

    /// Requeues or fails running tasks whose heartbeat stopped, in one `UPDATE … RETURNING`.
    public func sweepStaleTasks(heartbeatBefore: Date, message: String, now: Date) async throws -> [TaskRecord] {
        try await rows("sweep tasks", Self.sweepTasksSQL, [.text(message), .int(now.millis), .int(heartbeatBefore.millis)])
            .compactMap(taskRecord)
            .sorted { $0.id < $1.id }
    }

    /// Records a delivery attempt; an attempt number already stored is kept.
    public func recordWebhookAttempt(_ attempt: WebhookAttempt) async throws {
        _ = try await rows(
            "record webhook attempt",
            "INSERT INTO task_webhooks (\(WebhookColumns.list)) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            attempt.cells)
    }

    /// The delivery attempts of a task, oldest first.
    public func webhookAttempts(taskID: String) async throws -> [WebhookAttempt] {
        try await rows(
            "list webhook attempts",
            "SELECT \(WebhookColumns.list) FROM task_webhooks WHERE task_id = $1 ORDER BY attempt", [.text(taskID)]
        ).map { WebhookAttempt(cells: try Self.cells($0, kinds: WebhookColumns.kinds)) }
    }

    /// How many tasks are in each status.
    public func taskCounts() async throws -> [String: Int] {
        var out: [String: Int] = [:]
        for row in try await rows("task counts", "SELECT status, COUNT(*)::BIGINT FROM tasks GROUP BY status") {
            let (status, n) = try row.decode((String, Int64).self)
            out[status] = Int(n)
        }
        return out
    }

    /// Runs a conditional `UPDATE … RETURNING`; when no row changes, a second statement (with a
    /// snapshot taken after it) reads the task as it is: unchanged, or `nil` when missing.
    func taskTransition(_ operation: String, _ id: String, _ sql: String, _ values: [Cell]) async throws -> TaskRecord? {
        if let row = try await rows(operation, sql, values).first, let task = try taskRecord(row) { return task }
        return try await task(id)
    }

    /// The task of a row, its bodies opened with this store's cipher.
    func taskRecord(_ row: PostgresRow) throws -> TaskRecord? {
        TaskRecord(cells: try Self.cells(row, kinds: TaskColumns.kinds), cipher: cipher)
    }
}
