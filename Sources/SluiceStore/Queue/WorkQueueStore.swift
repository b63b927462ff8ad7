import Foundation

/// One claimed item of a work queue.
public struct QueueItem: Sendable, Equatable {
    /// The item id (a task id).
    public var id: String
    /// The queue it belongs to.
    public var queue: String
    /// What the producer stored with it.
    public var payload: String
    /// How many times it has been claimed, this claim included.
    public var attempts: Int

    /// A queue item; see the properties.
    public init(id: String, queue: String, payload: String, attempts: Int) {
        self.id = id
        self.queue = queue
        self.payload = payload
        self.attempts = attempts
    }
}

/// How a claimed item ended.
public enum QueueOutcome: String, Sendable {
    /// Finished; never claimed again.
    case done
    /// Failed for good; never claimed again.
    case failed
}

/// A shared work queue: every item is handed to exactly one claimer at a time
/// (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: one write transaction).
public protocol WorkQueueStore: Sendable {
    /// Adds an item that becomes claimable at `availableAt`; `false` if the id exists already.
    @discardableResult
    func enqueue(queue: String, id: String, payload: String, availableAt: Date) async throws -> Bool
    /// Claims up to `limit` available items for `worker`, oldest first.
    func claim(queue: String, worker: String, limit: Int, now: Date) async throws -> [QueueItem]
    /// Proves `worker` is still on the item; `false` if it no longer holds this claim.
    ///
    /// `attempt` is the claim's ``QueueItem/attempts``: it identifies the claim, so a worker whose
    /// item was re-queued (it went silent) and claimed again, even under the same worker name,
    /// cannot touch the new claim.
    @discardableResult
    func heartbeat(id: String, worker: String, attempt: Int, now: Date) async throws -> Bool
    /// Ends a claimed item; `false` if `worker` no longer holds this claim (`attempt` as for ``heartbeat(id:worker:attempt:now:)``).
    @discardableResult
    func finish(id: String, worker: String, attempt: Int, outcome: QueueOutcome, now: Date) async throws -> Bool
    /// Puts claimed items whose last heartbeat is before `heartbeatBefore` back in the queue; returns how many.
    func requeueStale(queue: String, heartbeatBefore: Date) async throws -> Int
    /// Item counts by state (`queued`, `claimed`, `done`, `failed`).
    func queueCounts(queue: String) async throws -> [String: Int]
}
