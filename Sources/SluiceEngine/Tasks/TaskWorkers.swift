import Foundation
import Logging
import ServiceLifecycle
import SluiceCore
import SluiceStore
import Synchronization

/// `tasks.workers` slots that claim queued tasks (PostgreSQL: `FOR UPDATE SKIP
/// LOCKED`, so nodes share one queue) and run each through the same engine as a
/// sync call, heartbeating while it runs. The outcome — result or error — is
/// written to the row first; the webhook follows. On graceful shutdown no new
/// task is claimed and running ones finish.
public final class TaskWorkers: Service, Sendable {
    let store: any SluiceStore
    let config: SluiceConfig
    let chat: ChatService
    let purposes: PurposeRunner
    /// Runs background responses (`/v1/responses` with `background: true`); `nil` refuses them.
    let responses: ResponsesService?
    let webhooks: TaskWebhooks
    /// The key ring, for the identity of tasks submitted with runtime keys.
    let keyRing: KeyRing?
    let node: String
    let clock: any WallClock
    let logger: Logger
    private let signal = Mutex<CheckedContinuation<Void, Never>?>(nil)
    private let pendingWake = Mutex(false)

    init(
        store: any SluiceStore, config: SluiceConfig, chat: ChatService, purposes: PurposeRunner, webhooks: TaskWebhooks,
        node: String, clock: any WallClock, logger: Logger, responses: ResponsesService? = nil, keyRing: KeyRing? = nil
    ) {
        self.keyRing = keyRing
        self.store = store
        self.config = config
        self.chat = chat
        self.purposes = purposes
        self.responses = responses
        self.webhooks = webhooks
        self.node = node
        self.clock = clock
        self.logger = logger
    }

    /// Wakes the claim loop now (a task was queued on this node).
    public func wake() {
        let c = signal.withLock { s -> CheckedContinuation<Void, Never>? in
            defer { s = nil }
            return s
        }
        if let c { c.resume() } else { pendingWake.withLock { $0 = true } }
    }

    public func run() async throws {
        let slots = config.tasks.workers
        guard slots > 0 else { return try await gracefulShutdown() }
        let running = RunningCount()
        await withTaskGroup(of: Void.self) { group in
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                let free = slots - running.value.load(ordering: .relaxed)
                var claimed: [TaskRecord] = []
                if free > 0 {
                    do {
                        // Tasks of batch-mode purposes are the batcher's (``TaskBatcher``).
                        claimed = try await store.claimTasks(worker: node, limit: free, now: clock.now(), purposes: .except(config.batchPurposes))
                    } catch {
                        logger.warning("could not claim tasks; will retry", metadata: ["error": "\(error)"])
                    }
                }
                for t in claimed {
                    running.value.add(1, ordering: .relaxed)
                    group.addTask {
                        await self.execute(t)
                        running.value.subtract(1, ordering: .relaxed)
                        self.wake()
                    }
                }
                if claimed.isEmpty || claimed.count == free { await pause(.milliseconds(claimed.isEmpty ? 250 : 20)) }
            }
            await group.waitForAll()
        }
    }

    /// Sleeps until woken, the timeout, or shutdown.
    private func pause(_ limit: Duration) async {
        if pendingWake.withLock({ w in defer { w = false }; return w }) { return }
        let timer = Task { [weak self] in
            // A cancelled timer (the pause ended early) must not wake the next pause.
            guard (try? await Task.sleep(for: limit)) != nil else { return }
            self?.wake()
        }
        await withGracefulShutdownHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = signal.withLock { s -> Bool in
                    if pendingWake.withLock({ w in defer { w = false }; return w }) { return true }
                    s = c
                    return false
                }
                if now { c.resume() }
            }
        } onGracefulShutdown: { [weak self] in
            self?.wake()
        }
        timer.cancel()
    }

    /// Runs one claimed task to its end.
    func execute(_ task: TaskRecord) async {
        let attempt = task.attemptCount
        let beat = Task {
            let every = Duration.milliseconds(Int64(max(0.2, config.tasks.timeoutS / 3) * 1000))
            while !Task.isCancelled {
                try? await Task.sleep(for: every)
                if Task.isCancelled { return }
                _ = try? await store.heartbeatTask(task.id, worker: node, attempt: attempt, now: clock.now())
            }
        }
        let (status, result, error, callID) = await perform(task)
        beat.cancel()
        if let callID { try? await store.addTaskCall(task.id, callID: callID) }
        do {
            // The outcome reaches the row before anything else (the webhook) happens.
            if let ended = try await store.finishTask(
                task.id, worker: node, attempt: attempt, status: status, result: result, error: error, now: clock.now())
            {
                // Delivered in the background: the slot is free for the next task.
                webhooks.send(ended)
            } else {
                logger.notice("task run outlived its claim; its outcome is dropped", metadata: ["task_id": "\(task.id)", "attempt": "\(attempt)"])
            }
        } catch {
            logger.error("could not write a task's outcome; the sweeper will end it", metadata: ["task_id": "\(task.id)", "error": "\(error)"])
        }
    }

    /// Why a task whose stored request this node cannot decrypt fails instead of running.
    static let unreadableRequest =
        "the stored request is encrypted with a storage.encryption_key this node does not have "
        + "(every node needs the same key); it was not sent upstream. Retry the task on a node with the key"

    /// Calls the engine for a task: its status, result or error, and the call id.
    func perform(_ task: TaskRecord) async -> (TaskRecord.Status, String?, String?, String?) {
        if task.requestIsUnreadable { return (.failed, nil, Self.unreadableRequest, nil) }
        guard let req = (try? JSON.parse(task.request))?.objectValue else { return (.failed, nil, "the stored request is not JSON", nil) }
        var attribution = Attribution(purpose: task.purpose, runID: req["run_id"]?.stringValue, user: req["user"]?.stringValue)
        attribution.cacheMode = nil
        let identity = identityFor(task.keyName)
        if let payload = req["responses"]?.objectValue {
            guard let responses else { return (.failed, nil, "this node does not run background responses", nil) }
            let (status, result, error, callID) = await responses.runBackground(payload, identity: identity)
            return (status, result, error, callID)
        }
        attribution.surface = Surface.task.rawValue
        let reply: ChatReply
        if let variables = req["variables"] {
            var body: JSONObject = ["variables": variables]
            for k in ["user", "run_id", "metadata"] { if let v = req[k] { body[k] = v } }
            reply = await purposes.run(purpose: task.purpose, body: JSON.object(body).serialized(), attribution: attribution, identity: identity)
        } else {
            var body = req["request"]?.objectValue ?? [:]
            body["stream"] = false
            reply = await chat.handle(body: JSON.object(body).serialized(), attribution: attribution, identity: identity)
        }
        return Self.outcome(of: reply)
    }

    /// A task's status, result or error, and call id, from the engine's reply.
    static func outcome(of reply: ChatReply) -> (TaskRecord.Status, String?, String?, String?) {
        switch reply {
        case .json(let status, let bytes, let meta):
            let text = String(decoding: bytes, as: UTF8.self)
            guard (200..<300).contains(status) else { return (.failed, nil, "HTTP \(status): \(text)", meta.callID) }
            return (meta.reviewID != nil ? .needsReview : .succeeded, text, nil, meta.callID)
        case .failure(let error, let meta):
            return (.failed, nil, "\(error.code.name): \(error.message)", meta.callID)
        case .stream, .events:
            return (.failed, nil, "a task cannot stream", nil)
        }
    }

    func identityFor(_ keyName: String?) -> Identity { Self.identity(for: keyName, config: config, keyRing: keyRing) }

    /// The identity a task runs with: its key's purposes (a runtime key's scope and limits,
    /// none once it is revoked or expired), or open mode when it has no key.
    static func identity(for keyName: String?, config: SluiceConfig, keyRing: KeyRing? = nil) -> Identity {
        if let keyName, let runtime = keyRing?.runtimeIdentity(named: keyName) { return runtime }
        guard let keyName, let key = config.auth.keys.first(where: { $0.name == keyName }) else { return .openLoopback }
        return Identity(keyName: keyName, purposes: key.purposes, isAdmin: false)
    }
}

/// Task runs in flight on this node.
final class RunningCount: Sendable {
    let value = Atomic<Int>(0)
}

/// Ends tasks whose worker went silent: requeued while attempts remain, otherwise
/// failed with "timed out after N s". Runs at start (tasks left running by a dead
/// process) and every `tasks.sweep_interval_s`.
public final class TaskSweeper: Service, Sendable {
    let store: any SluiceStore
    let config: SluiceConfig.Tasks
    let webhooks: TaskWebhooks
    let clock: any WallClock
    let logger: Logger
    let wake: @Sendable () -> Void

    init(store: any SluiceStore, config: SluiceConfig.Tasks, webhooks: TaskWebhooks, clock: any WallClock, logger: Logger, wake: @escaping @Sendable () -> Void) {
        self.store = store
        self.config = config
        self.webhooks = webhooks
        self.clock = clock
        self.logger = logger
        self.wake = wake
    }

    public func run() async throws {
        let interval = Duration.milliseconds(Int64(config.sweepIntervalS * 1000))
        while true {
            await sweep()
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) } } catch { return }
        }
    }

    /// One sweep; returns the tasks it changed.
    @discardableResult
    public func sweep() async -> [TaskRecord] {
        let now = clock.now()
        do {
            let changed = try await store.sweepStaleTasks(
                heartbeatBefore: now.addingTimeInterval(-config.timeoutS),
                message: "timed out after \(Int(config.timeoutS)) s without a heartbeat", now: now)
            for t in changed {
                logger.warning("task timed out", metadata: ["task_id": "\(t.id)", "status": "\(t.status.rawValue)", "attempt": "\(t.attemptCount)"])
                if t.status.isTerminal { webhooks.send(t) }
            }
            if changed.contains(where: { $0.status == .queued }) { wake() }
            return changed
        } catch {
            logger.warning("task sweep failed; will retry", metadata: ["error": "\(error)"])
            return []
        }
    }
}
