import Foundation

/// A durable task: a row written before any work, that always reaches a definite end.
public struct TaskRecord: Sendable, Equatable {
    /// Where a task is in its life.
    public enum Status: String, Sendable, CaseIterable {
        case queued, running, succeeded, failed, needsReview = "needs_review", cancelled

        /// Whether the task is over (no worker will touch it again unless retried).
        public var isTerminal: Bool { self == .succeeded || self == .failed || self == .cancelled || self == .needsReview }
    }

    /// Time-ordered id (`task_…`).
    public var id: String
    /// The purpose it runs under.
    public var purpose: String
    /// The client's idempotency key, unique per key name (or globally for open mode).
    public var idempotencyKey: String?
    /// SHA-256 of the canonical request body: the same key with another body is a conflict.
    public var requestHash: String
    /// The request as JSON text (`variables` or a raw chat `request`, plus attribution).
    public var request: String
    /// The virtual key that created it.
    public var keyName: String?
    /// Where to POST the task when it ends.
    public var webhookURL: String?
    /// The status.
    public var status: Status
    /// Runs started so far (a retry or a requeue after a timeout adds one).
    public var attemptCount: Int
    /// The most runs before a timed-out task fails for good.
    public var maxAttempts: Int
    /// When it was created.
    public var createdAt: Date
    /// When its current run started.
    public var startedAt: Date?
    /// When it ended.
    public var finishedAt: Date?
    /// When its worker last said it was alive.
    public var heartbeatAt: Date?
    /// The worker running it (`node/slot`).
    public var worker: String?
    /// Why it failed, written before anything else happens.
    public var errorMessage: String?
    /// The result as JSON text.
    public var result: String?
    /// Calls made for it, in order.
    public var callIDs: [String]

    /// A new queued task.
    public init(
        id: String, purpose: String, idempotencyKey: String?, requestHash: String, request: String, keyName: String?,
        webhookURL: String?, maxAttempts: Int, createdAt: Date
    ) {
        self.id = id
        self.purpose = purpose
        self.idempotencyKey = idempotencyKey
        self.requestHash = requestHash
        self.request = request
        self.keyName = keyName
        self.webhookURL = webhookURL
        self.status = .queued
        self.attemptCount = 0
        self.maxAttempts = maxAttempts
        self.createdAt = createdAt
        self.callIDs = []
    }
}

/// How a create went.
public enum TaskCreation: Sendable, Equatable {
    /// The row was written.
    case created(TaskRecord)
    /// A task with this idempotency key and the same request hash exists: it is returned.
    case existing(TaskRecord)
    /// A task with this idempotency key exists with another request hash.
    case conflict(TaskRecord)
}

/// One webhook delivery attempt, recorded.
public struct WebhookAttempt: Sendable, Equatable {
    /// The task.
    public var taskID: String
    /// 1, 2, 3…
    public var attempt: Int
    /// When it was made.
    public var at: Date
    /// The HTTP status, `nil` when no answer came.
    public var status: Int?
    /// What went wrong, `nil` on a 2xx.
    public var error: String?

    /// An attempt; see the properties.
    public init(taskID: String, attempt: Int, at: Date, status: Int?, error: String?) {
        self.taskID = taskID
        self.attempt = attempt
        self.at = at
        self.status = status
        self.error = error
    }
}

extension TaskStore {
    /// Tasks of every key; see ``TaskStore/tasks(status:purpose:keyName:limit:before:)``.
    public func tasks(status: TaskRecord.Status?, purpose: String?, limit: Int, before: String?) async throws -> [TaskRecord] {
        try await tasks(status: status, purpose: purpose, keyName: nil, limit: limit, before: before)
    }
}

/// Durable tasks shared by every node. Every transition is one conditional
/// statement, so two nodes never run one task at once and a stale worker
/// cannot overwrite a newer run (its `attempt` no longer matches).
public protocol TaskStore: Sendable {
    /// Writes a queued task, or finds the one with the same idempotency key (and key name).
    func createTask(_ task: TaskRecord) async throws -> TaskCreation
    /// One task.
    func task(_ id: String) async throws -> TaskRecord?
    /// Tasks newest first, filtered by status, purpose and owner, older than `before` (an id), at most `limit`
    /// (1…1000). `keyName` `nil` lists every key's tasks; a name lists only the tasks that key created
    /// (`""`: those created without a key), filtered in the query so that pages stay full.
    func tasks(status: TaskRecord.Status?, purpose: String?, keyName: String?, limit: Int, before: String?) async throws -> [TaskRecord]
    /// Claims up to `limit` queued tasks of the `purposes` the filter lets through, oldest first (PostgreSQL:
    /// `FOR UPDATE SKIP LOCKED`): each becomes `running` with `attempt_count + 1`, `started_at` and
    /// `heartbeat_at` = now, `worker` set. Returns them claimed.
    func claimTasks(worker: String, limit: Int, now: Date, purposes: TaskClaimFilter) async throws -> [TaskRecord]
    /// Refreshes the heartbeat of a run; `false` when the task is no longer this worker's run `attempt`.
    func heartbeatTask(_ id: String, worker: String, attempt: Int, now: Date) async throws -> Bool
    /// Appends a call id to the task (any status).
    func addTaskCall(_ id: String, callID: String) async throws
    /// Ends a run: `succeeded`, `failed` or `needs_review`, with result or error; only if it is still
    /// this worker's run `attempt` and `running`. Returns the task as ended, or `nil` when the run was stale.
    func finishTask(
        _ id: String, worker: String, attempt: Int, status: TaskRecord.Status, result: String?, error: String?, now: Date
    ) async throws -> TaskRecord?
    /// Puts a `failed`, `cancelled` or `needs_review` task back to `queued` (keeping its attempt count,
    /// clearing error, result and times); `nil` when missing, unchanged when it is queued or running.
    func retryTask(_ id: String, now: Date) async throws -> TaskRecord?
    /// Cancels a `queued` task; returns the task as it is after (unchanged when not queued); `nil` when missing.
    func cancelTask(_ id: String, now: Date) async throws -> TaskRecord?
    /// Running tasks whose heartbeat is older than `heartbeatBefore`: requeued when `attempt_count <
    /// max_attempts`, otherwise failed with `message` (error written, finished now). Returns the tasks as changed.
    func sweepStaleTasks(heartbeatBefore: Date, message: String, now: Date) async throws -> [TaskRecord]
    /// Records one webhook delivery attempt.
    func recordWebhookAttempt(_ attempt: WebhookAttempt) async throws
    /// The delivery attempts of a task, oldest first.
    func webhookAttempts(taskID: String) async throws -> [WebhookAttempt]
    /// How many tasks are in each status.
    func taskCounts() async throws -> [String: Int]
}
