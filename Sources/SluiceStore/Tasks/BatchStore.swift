import Foundation
import SluiceCore

/// Tasks of batch-mode purposes sent to a provider's batch API as one upstream batch.
public struct TaskBatch: Sendable, Equatable {
    /// Where a batch is in its life.
    public enum Status: String, Sendable, CaseIterable {
        /// The row is written, the upstream batch is being created.
        case submitting
        /// The provider accepted it (`upstream_id` is set); it is polled until it ends.
        case submitted
        /// It ended upstream and its tasks were finished.
        case completed
        /// It failed (upstream, or before the provider confirmed it); its tasks were failed.
        case failed

        /// Whether a poller still has work on it.
        public var isOpen: Bool { self == .submitting || self == .submitted }
    }

    /// One task in the batch: its run, the call that records it, and the chat request sent.
    public struct Item: Sendable, Equatable {
        /// The task, also the request's `custom_id` upstream.
        public var taskID: String
        /// The task's run (attempt) this batch holds; finishing names it.
        public var attempt: Int
        /// The call id its call record gets (fixed at submission, so a record is written once).
        public var callID: String
        /// The chat request as the sync path builds it (before routing), JSON text.
        public var body: String
        /// The prompt rendered, for `variables` tasks.
        public var promptName: String?
        /// The prompt's version.
        public var promptVersion: String?

        /// An item; see the properties.
        public init(taskID: String, attempt: Int, callID: String, body: String, promptName: String? = nil, promptVersion: String? = nil) {
            self.taskID = taskID
            self.attempt = attempt
            self.callID = callID
            self.body = body
            self.promptName = promptName
            self.promptVersion = promptVersion
        }
    }

    /// Time-ordered id (`batch_…`); the tasks' worker is `batch:<id>`.
    public var id: String
    /// The purpose whose tasks it holds.
    public var purpose: String
    /// The configured provider it was sent to.
    public var provider: String
    /// The upstream model id.
    public var model: String
    /// The provider's batch id, once it accepted the batch.
    public var upstreamID: String?
    /// The status.
    public var status: Status
    /// The tasks, in order.
    public var items: [Item]
    /// When the row was written (the calls' creation time).
    public var createdAt: Date
    /// When its status last changed.
    public var updatedAt: Date
    /// Why it failed, or what went wrong while it was open.
    public var error: String?

    /// A new batch in `submitting`.
    public init(id: String, purpose: String, provider: String, model: String, items: [Item], createdAt: Date) {
        self.id = id
        self.purpose = purpose
        self.provider = provider
        self.model = model
        self.status = .submitting
        self.items = items
        self.createdAt = createdAt
        self.updatedAt = createdAt
    }

    /// The task ids, in order.
    public var taskIDs: [String] { items.map(\.taskID) }

    /// The worker name its tasks run under.
    public var worker: String { Self.worker(id) }

    /// `batch:<id>`.
    public static func worker(_ id: String) -> String { "batch:" + id }
}

/// Which queued tasks a claim may take, by purpose.
public enum TaskClaimFilter: Sendable, Equatable {
    /// Any purpose.
    case all
    /// Only these purposes (none: nothing).
    case only([String])
    /// Every purpose but these.
    case except([String])
}

/// The batches of batch-mode purposes, shared by every node. A batch ends once:
/// its `submitted → completed | failed` transition is one conditional statement,
/// and the node whose statement changed the row records the calls and finishes the tasks.
public protocol BatchStore: Sendable {
    /// Writes a new batch (status `submitting`).
    func createBatch(_ batch: TaskBatch) async throws
    /// One batch.
    func batch(_ id: String) async throws -> TaskBatch?
    /// Batches still `submitting` or `submitted`, oldest first.
    func openBatches() async throws -> [TaskBatch]
    /// Moves a batch from `from` to `to`, setting `upstream_id` (when given), `error` and `updated_at`;
    /// returns the batch as changed, or `nil` when it was not in `from` (another node moved it first).
    func transitionBatch(
        _ id: String, from: TaskBatch.Status, to: TaskBatch.Status, upstreamID: String?, error: String?, now: Date
    ) async throws -> TaskBatch?
    /// Refreshes the heartbeat of every task still running under the batch (worker `batch:<id>`); returns how many.
    func heartbeatBatchTasks(_ id: String, now: Date) async throws -> Int
}

extension TaskStore {
    /// Claims up to `limit` queued tasks of any purpose; see ``TaskStore/claimTasks(worker:limit:now:purposes:)``.
    public func claimTasks(worker: String, limit: Int, now: Date) async throws -> [TaskRecord] {
        try await claimTasks(worker: worker, limit: limit, now: now, purposes: .all)
    }
}
