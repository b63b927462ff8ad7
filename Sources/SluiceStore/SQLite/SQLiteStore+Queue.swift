import Foundation
import GRDB

/// The work queue on SQLite: a claim is one IMMEDIATE transaction, so no two
/// claimers (threads or processes sharing the file) get the same item.
extension SQLiteStore {
    /// Adds an item; `false` if the id exists already.
    @discardableResult
    public func enqueue(queue: String, id: String, payload: String, availableAt: Date) async throws -> Bool {
        let now = Date().millis
        return try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO work_queue (item_id, queue, payload, status, available_at_ms, attempts, created_at_ms)
                    VALUES (?, ?, ?, 'queued', ?, 0, ?) ON CONFLICT (item_id) DO NOTHING
                    """,
                arguments: [id, queue, payload, availableAt.millis, now])
            return db.changesCount == 1
        }
    }

    /// Claims up to `limit` available items, oldest first.
    public func claim(queue: String, worker: String, limit: Int, now: Date) async throws -> [QueueItem] {
        guard limit > 0 else { return [] }
        return try await pool.write { db in
            try Row.fetchAll(
                db,
                sql: """
                    UPDATE work_queue SET status = 'claimed', claimed_by = ?, heartbeat_at_ms = ?, attempts = attempts + 1
                    WHERE item_id IN (
                        SELECT item_id FROM work_queue WHERE queue = ? AND status = 'queued' AND available_at_ms <= ?
                        ORDER BY available_at_ms, item_id LIMIT ?)
                    RETURNING item_id, queue, payload, attempts, available_at_ms
                    """,
                arguments: [worker, now.millis, queue, now.millis, limit]
            )
            .sorted { ($0[4] as Int64, $0[0] as String) < ($1[4] as Int64, $1[0] as String) }
            .map { QueueItem(id: $0[0], queue: $0[1], payload: $0[2], attempts: $0[3]) }
        }
    }

    /// Refreshes the heartbeat of the claim `attempt` of an item `worker` holds.
    @discardableResult
    public func heartbeat(id: String, worker: String, attempt: Int, now: Date) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE work_queue SET heartbeat_at_ms = ?
                    WHERE item_id = ? AND claimed_by = ? AND attempts = ? AND status = 'claimed'
                    """,
                arguments: [now.millis, id, worker, attempt])
            return db.changesCount == 1
        }
    }

    /// Ends the claim `attempt` of an item `worker` holds.
    @discardableResult
    public func finish(id: String, worker: String, attempt: Int, outcome: QueueOutcome, now: Date) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE work_queue SET status = ?, finished_at_ms = ?
                    WHERE item_id = ? AND claimed_by = ? AND attempts = ? AND status = 'claimed'
                    """,
                arguments: [outcome.rawValue, now.millis, id, worker, attempt])
            return db.changesCount == 1
        }
    }

    /// Re-queues claimed items whose heartbeat stopped.
    public func requeueStale(queue: String, heartbeatBefore: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE work_queue SET status = 'queued', claimed_by = NULL
                    WHERE queue = ? AND status = 'claimed' AND heartbeat_at_ms < ?
                    """,
                arguments: [queue, heartbeatBefore.millis])
            return db.changesCount
        }
    }

    /// Item counts by state.
    public func queueCounts(queue: String) async throws -> [String: Int] {
        try await pool.read { db in
            var out: [String: Int] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT status, COUNT(*) FROM work_queue WHERE queue = ? GROUP BY status", arguments: [queue])
            {
                out[row[0]] = row[1]
            }
            return out
        }
    }
}
