import Foundation
import GRDB

/// Durable tasks on SQLite: every transition is one conditional statement in one write
/// transaction, and SQLite runs one writer at a time, so no two workers get the same run.
extension SQLiteStore {
    static let insertTaskSQL =
        "INSERT INTO tasks (\(TaskColumns.list)) VALUES ("
        + Array(repeating: "?", count: TaskColumns.names.count).joined(separator: ", ") + ") ON CONFLICT DO NOTHING"

    /// Writes a queued task, or, in the same transaction, reads the row whose idempotency key (under
    /// the same key name) or id it collides with: the same request hash is `existing`, another is `conflict`.
    public func createTask(_ task: TaskRecord) async throws -> TaskCreation {
        let cipher = self.cipher
        let values = task.cells(sealedBy: cipher).map(\.databaseValue)
        return try await pool.write { db in
            try db.execute(sql: Self.insertTaskSQL, arguments: StatementArguments(values))
            if db.changesCount == 1 { return .created(try Self.fetchTask(db, task.id, cipher) ?? task) }
            var existing: TaskRecord?
            if let key = task.idempotencyKey {
                existing = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT \(TaskColumns.list) FROM tasks
                        WHERE COALESCE(key_name, '') = COALESCE(?, '') AND idempotency_key = ?
                        """,
                    arguments: [task.keyName, key]
                ).flatMap { Self.taskRecord($0, cipher) }
            }
            guard let found = try existing ?? Self.fetchTask(db, task.id, cipher) else {
                throw DatabaseError(resultCode: .SQLITE_CONSTRAINT, message: "task \(task.id) collides with no readable row")
            }
            return task.creation(against: found)
        }
    }

    /// The task with this id, or `nil`.
    public func task(_ id: String) async throws -> TaskRecord? {
        let cipher = self.cipher
        return try await pool.read { db in try Self.fetchTask(db, id, cipher) }
    }

    /// Tasks newest first by id, filtered by status, purpose and owning key, older than `before`; `limit` is clamped to 1…1000.
    public func tasks(status: TaskRecord.Status?, purpose: String?, keyName: String?, limit: Int, before: String?) async throws -> [TaskRecord] {
        let q = TaskQuery(status: status, purpose: purpose, keyName: keyName, limit: limit, before: before)
        let sql = q.sql { _ in "?" }
        let values = q.values.map(\.databaseValue)
        let cipher = self.cipher
        return try await pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments(values)).compactMap { Self.taskRecord($0, cipher) }
        }
    }

    /// Claims up to `limit` queued tasks of the filtered purposes, oldest (lowest id) first, in one `UPDATE … RETURNING`.
    public func claimTasks(worker: String, limit: Int, now: Date, purposes: TaskClaimFilter) async throws -> [TaskRecord] {
        guard limit > 0, let filter = purposes.clause({ _ in "?" }) else { return [] }
        let values: [DatabaseValue] =
            [now.millis.databaseValue, now.millis.databaseValue, worker.databaseValue] + filter.values.map(\.databaseValue)
            + [limit.databaseValue]
        let cipher = self.cipher
        return try await pool.write { db in
            try Row.fetchAll(
                db,
                sql: """
                    UPDATE tasks SET status = 'running', attempt_count = attempt_count + 1, started_at_ms = ?,
                        heartbeat_at_ms = ?, worker = ?
                    WHERE id IN (SELECT id FROM tasks WHERE status = 'queued'\(filter.sql) ORDER BY id LIMIT ?)
                    RETURNING \(TaskColumns.list)
                    """,
                arguments: StatementArguments(values)
            )
            .compactMap { Self.taskRecord($0, cipher) }
            .sorted { $0.id < $1.id }
        }
    }

    /// Refreshes the heartbeat of run `attempt` if `worker` still holds it.
    public func heartbeatTask(_ id: String, worker: String, attempt: Int, now: Date) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE tasks SET heartbeat_at_ms = ?
                    WHERE id = ? AND worker = ? AND attempt_count = ? AND status = 'running'
                    """,
                arguments: [now.millis, id, worker, attempt])
            return db.changesCount == 1
        }
    }

    /// Appends a call id to the task's `call_ids` array in one `UPDATE` (`json_insert`).
    public func addTaskCall(_ id: String, callID: String) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE tasks SET call_ids = json_insert(call_ids, '$[#]', ?) WHERE id = ?", arguments: [callID, id])
        }
    }

    /// Ends run `attempt` if `worker` still holds it; `nil` when stale or when `status` is not an end of a run.
    public func finishTask(
        _ id: String, worker: String, attempt: Int, status: TaskRecord.Status, result: String?, error: String?, now: Date
    ) async throws -> TaskRecord? {
        guard TaskColumns.finishes.contains(status) else { return nil }
        let cipher = self.cipher
        let (result, error) = (BodyCipher.seal(result, with: cipher), BodyCipher.seal(error, with: cipher))
        return try await pool.write { db in
            try Row.fetchOne(
                db,
                sql: """
                    UPDATE tasks SET status = ?, result = ?, error_message = ?, finished_at_ms = ?
                    WHERE id = ? AND worker = ? AND attempt_count = ? AND status = 'running'
                    RETURNING \(TaskColumns.list)
                    """,
                arguments: [status.rawValue, result, error, now.millis, id, worker, attempt]
            ).flatMap { Self.taskRecord($0, cipher) }
        }
    }

    /// Requeues a failed, cancelled or needs-review task; otherwise returns it unchanged (`nil` when missing).
    public func retryTask(_ id: String, now: Date) async throws -> TaskRecord? {
        try await taskTransition(
            id,
            """
            UPDATE tasks SET status = 'queued', error_message = NULL, result = NULL, started_at_ms = NULL,
                finished_at_ms = NULL, heartbeat_at_ms = NULL, worker = NULL
            WHERE id = ? AND status IN \(TaskColumns.retryable)
            """, [id])
    }

    /// Cancels a queued task; otherwise returns it unchanged (`nil` when missing).
    public func cancelTask(_ id: String, now: Date) async throws -> TaskRecord? {
        try await taskTransition(
            id, "UPDATE tasks SET status = 'cancelled', finished_at_ms = ? WHERE id = ? AND status = 'queued'",
            [now.millis, id])
    }

    /// Requeues or fails running tasks whose heartbeat stopped, in one `UPDATE … RETURNING`.
    public func sweepStaleTasks(heartbeatBefore: Date, message: String, now: Date) async throws -> [TaskRecord] {
        let cipher = self.cipher
        return try await pool.write { db in
            try Row.fetchAll(
                db,
                sql: """
                    UPDATE tasks SET
                        status = CASE WHEN attempt_count < max_attempts THEN 'queued' ELSE 'failed' END,
                        worker = CASE WHEN attempt_count < max_attempts THEN NULL ELSE worker END,
                        error_message = CASE WHEN attempt_count < max_attempts THEN error_message ELSE ? END,
                        finished_at_ms = CASE WHEN attempt_count < max_attempts THEN NULL ELSE ? END
                    WHERE status = 'running' AND heartbeat_at_ms < ?
                    RETURNING \(TaskColumns.list)
                    """,
                arguments: [message, now.millis, heartbeatBefore.millis]
            )
            .compactMap { Self.taskRecord($0, cipher) }
            .sorted { $0.id < $1.id }
        }
    }

    /// Records a delivery attempt; an attempt number already stored is kept.
    public func recordWebhookAttempt(_ attempt: WebhookAttempt) async throws {
        let values = attempt.cells.map(\.databaseValue)
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO task_webhooks (\(WebhookColumns.list)) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                arguments: StatementArguments(values))
        }
    }

    /// The delivery attempts of a task, oldest first.
    public func webhookAttempts(taskID: String) async throws -> [WebhookAttempt] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT \(WebhookColumns.list) FROM task_webhooks WHERE task_id = ? ORDER BY attempt",
                arguments: [taskID]
            ).map { WebhookAttempt(cells: Self.cells($0, count: WebhookColumns.kinds.count)) }
        }
    }

    /// How many tasks are in each status.
    public func taskCounts() async throws -> [String: Int] {
        try await pool.read { db in
            var out: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) FROM tasks GROUP BY status") {
                out[row[0]] = row[1]
            }
            return out
        }
    }

    /// Runs a conditional `UPDATE` and reads the task back in the same transaction.
    func taskTransition(_ id: String, _ sql: String, _ arguments: StatementArguments) async throws -> TaskRecord? {
        let cipher = self.cipher
        return try await pool.write { db in
            try db.execute(sql: sql, arguments: arguments)
            return try Self.fetchTask(db, id, cipher)
        }
    }

    static func fetchTask(_ db: Database, _ id: String, _ cipher: BodyCipher?) throws -> TaskRecord? {
        try Row.fetchOne(db, sql: "SELECT \(TaskColumns.list) FROM tasks WHERE id = ?", arguments: [id])
            .flatMap { taskRecord($0, cipher) }
    }

    static func taskRecord(_ row: Row, _ cipher: BodyCipher?) -> TaskRecord? {
        TaskRecord(cells: cells(row, count: TaskColumns.names.count), cipher: cipher)
    }
}
