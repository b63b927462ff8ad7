import Foundation
import PostgresNIO

/// Task batches on PostgreSQL, shared by every node: the `submitted → completed | failed`
/// transition is one conditional `UPDATE`, so exactly one node wins it.
extension PostgresStore {
    static let insertBatchSQL =
        "INSERT INTO task_batches (\(BatchColumns.list)) VALUES ("
        + (1...BatchColumns.names.count).map { "$\($0)" }.joined(separator: ", ") + ")"

    /// Writes a new batch.
    public func createBatch(_ batch: TaskBatch) async throws {
        _ = try await rows("create batch", Self.insertBatchSQL, batch.cells(sealedBy: cipher))
    }

    /// The batch with this id, or `nil`.
    public func batch(_ id: String) async throws -> TaskBatch? {
        try await rows("get batch", "SELECT \(BatchColumns.list) FROM task_batches WHERE id = $1", [.text(id)])
            .first.flatMap(batchRecord)
    }

    /// Batches still `submitting` or `submitted`, oldest first.
    public func openBatches() async throws -> [TaskBatch] {
        try await rows(
            "list open batches", "SELECT \(BatchColumns.list) FROM task_batches WHERE status IN \(BatchColumns.open) ORDER BY id"
        ).compactMap(batchRecord)
    }

    /// Moves the batch from `from` to `to` in one `UPDATE … RETURNING`; `nil` when it was not in `from`.
    public func transitionBatch(
        _ id: String, from: TaskBatch.Status, to: TaskBatch.Status, upstreamID: String?, error: String?, now: Date
    ) async throws -> TaskBatch? {
        try await rows(
            "transition batch",
            """
            UPDATE task_batches SET status = $1, upstream_id = COALESCE($2::text, upstream_id), error = $3::text,
                updated_at_ms = $4
            WHERE id = $5 AND status = $6
            RETURNING \(BatchColumns.list)
            """,
            [
                .text(to.rawValue), upstreamID.map(Cell.text) ?? .null, error.map(Cell.text) ?? .null, .int(now.millis),
                .text(id), .text(from.rawValue),
            ]
        ).first.flatMap(batchRecord)
    }

    /// Refreshes the heartbeat of the batch's running tasks in one `UPDATE`.
    public func heartbeatBatchTasks(_ id: String, now: Date) async throws -> Int {
        try await rows(
            "heartbeat batch tasks",
            "UPDATE tasks SET heartbeat_at_ms = $1 WHERE worker = $2 AND status = 'running' RETURNING 1",
            [.int(now.millis), .text(TaskBatch.worker(id))]
        ).count
    }

    /// The batch of a row, its items' bodies opened with this store's cipher.
    func batchRecord(_ row: PostgresRow) throws -> TaskBatch? {
        TaskBatch(cells: try Self.cells(row, kinds: BatchColumns.kinds), cipher: cipher)
    }
}
