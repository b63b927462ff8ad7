import Foundation
import GRDB

/// Task batches on SQLite: each transition is one conditional `UPDATE` in one write transaction.
extension SQLiteStore {
    /// Writes a new batch.
    public func createBatch(_ batch: TaskBatch) async throws {
        let values = batch.cells(sealedBy: cipher).map(\.databaseValue)
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO task_batches (\(BatchColumns.list)) VALUES ("
                    + Array(repeating: "?", count: BatchColumns.names.count).joined(separator: ", ") + ")",
                arguments: StatementArguments(values))
        }
    }

    /// The batch with this id, or `nil`.
    public func batch(_ id: String) async throws -> TaskBatch? {
        let cipher = self.cipher
        return try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(BatchColumns.list) FROM task_batches WHERE id = ?", arguments: [id])
                .flatMap { Self.batchRecord($0, cipher) }
        }
    }

    /// Batches still `submitting` or `submitted`, oldest first.
    public func openBatches() async throws -> [TaskBatch] {
        let cipher = self.cipher
        return try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT \(BatchColumns.list) FROM task_batches WHERE status IN \(BatchColumns.open) ORDER BY id"
            ).compactMap { Self.batchRecord($0, cipher) }
        }
    }

    /// Moves the batch from `from` to `to` in one `UPDATE … RETURNING`; `nil` when it was not in `from`.
    public func transitionBatch(
        _ id: String, from: TaskBatch.Status, to: TaskBatch.Status, upstreamID: String?, error: String?, now: Date
    ) async throws -> TaskBatch? {
        let cipher = self.cipher
        return try await pool.write { db in
            try Row.fetchOne(
                db,
                sql: """
                    UPDATE task_batches SET status = ?, upstream_id = COALESCE(?, upstream_id), error = ?, updated_at_ms = ?
                    WHERE id = ? AND status = ?
                    RETURNING \(BatchColumns.list)
                    """,
                arguments: [to.rawValue, upstreamID, error, now.millis, id, from.rawValue]
            ).flatMap { Self.batchRecord($0, cipher) }
        }
    }

    /// Refreshes the heartbeat of the batch's running tasks in one `UPDATE`.
    public func heartbeatBatchTasks(_ id: String, now: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE tasks SET heartbeat_at_ms = ? WHERE worker = ? AND status = 'running'",
                arguments: [now.millis, TaskBatch.worker(id)])
            return db.changesCount
        }
    }

    static func batchRecord(_ row: Row, _ cipher: BodyCipher?) -> TaskBatch? {
        TaskBatch(cells: cells(row, count: BatchColumns.names.count), cipher: cipher)
    }
}
