import Foundation
import PostgresNIO

/// The work queue on PostgreSQL: a claim locks the rows it picks with
/// `FOR UPDATE SKIP LOCKED`, so concurrent claimers on any node take disjoint items without waiting on each other.
extension PostgresStore {
    /// Adds an item; `false` if the id exists already.
    @discardableResult
    public func enqueue(queue: String, id: String, payload: String, availableAt: Date) async throws -> Bool {
        try await !rows(
            "enqueue",
            """
            INSERT INTO work_queue (item_id, queue, payload, status, available_at_ms, attempts, created_at_ms)
            VALUES ($1, $2, $3, 'queued', $4, 0, $5) ON CONFLICT (item_id) DO NOTHING RETURNING 1
            """,
            [.text(id), .text(queue), .text(payload), .int(availableAt.millis), .int(Date().millis)]
        ).isEmpty
    }

    /// The picked rows are a materialized CTE: evaluated once, so a plan that rescans a `FROM`
    /// subquery (a nested loop) cannot pick, and claim, more than `limit` items.
    static let claimSQL = """
        WITH c AS MATERIALIZED (
            SELECT item_id FROM work_queue
            WHERE queue = $1 AND status = 'queued' AND available_at_ms <= $3
            ORDER BY available_at_ms, item_id
            LIMIT $4
            FOR UPDATE SKIP LOCKED
        )
        UPDATE work_queue q SET status = 'claimed', claimed_by = $2, heartbeat_at_ms = $3, attempts = q.attempts + 1
        FROM c
        WHERE q.item_id = c.item_id AND q.status = 'queued'
        RETURNING q.item_id, q.queue, q.payload, q.attempts, q.available_at_ms
        """

    /// Claims up to `limit` available items, oldest first.
    public func claim(queue: String, worker: String, limit: Int, now: Date) async throws -> [QueueItem] {
        guard limit > 0 else { return [] }
        return try await rows("claim", Self.claimSQL, [.text(queue), .text(worker), .int(now.millis), .int(Int64(limit))])
            .map { row -> (QueueItem, Int64) in
                let (id, queue, payload, attempts, available) = try row.decode((String, String, String, Int64, Int64).self)
                return (QueueItem(id: id, queue: queue, payload: payload, attempts: Int(attempts)), available)
            }
            .sorted { ($0.1, $0.0.id) < ($1.1, $1.0.id) }
            .map(\.0)
    }

    /// Refreshes the heartbeat of the claim `attempt` of an item `worker` holds.
    @discardableResult
    public func heartbeat(id: String, worker: String, attempt: Int, now: Date) async throws -> Bool {
        try await !rows(
            "heartbeat",
            """
            UPDATE work_queue SET heartbeat_at_ms = $1
            WHERE item_id = $2 AND claimed_by = $3 AND attempts = $4 AND status = 'claimed' RETURNING 1
            """,
            [.int(now.millis), .text(id), .text(worker), .int(Int64(attempt))]
        ).isEmpty
    }

    /// Ends the claim `attempt` of an item `worker` holds.
    @discardableResult
    public func finish(id: String, worker: String, attempt: Int, outcome: QueueOutcome, now: Date) async throws -> Bool {
        try await !rows(
            "finish",
            """
            UPDATE work_queue SET status = $1, finished_at_ms = $2
            WHERE item_id = $3 AND claimed_by = $4 AND attempts = $5 AND status = 'claimed' RETURNING 1
            """,
            [.text(outcome.rawValue), .int(now.millis), .text(id), .text(worker), .int(Int64(attempt))]
        ).isEmpty
    }

    /// Re-queues claimed items whose heartbeat stopped.
    public func requeueStale(queue: String, heartbeatBefore: Date) async throws -> Int {
        try await rows(
            "requeue stale",
            """
            UPDATE work_queue SET status = 'queued', claimed_by = NULL
            WHERE queue = $1 AND status = 'claimed' AND heartbeat_at_ms < $2 RETURNING 1
            """,
            [.text(queue), .int(heartbeatBefore.millis)]
        ).count
    }

    /// Item counts by state.
    public func queueCounts(queue: String) async throws -> [String: Int] {
        var out: [String: Int] = [:]
        for row in try await rows(
            "queue counts", "SELECT status, COUNT(*)::BIGINT FROM work_queue WHERE queue = $1 GROUP BY status", [.text(queue)])
        {
            let (status, n) = try row.decode((String, Int64).self)
            out[status] = Int(n)
        }
        return out
    }
}
