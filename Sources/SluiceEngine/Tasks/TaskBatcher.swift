import Foundation
import Logging
import ServiceLifecycle
import SluiceCore
import SluiceProviders
import SluiceStore

/// Batch mode: every `tasks.batch_interval_s` it claims up to `tasks.batch_max` queued tasks of
/// each `mode: batch` purpose (as worker `batch:<id>`), checks and builds each request as a sync
/// call would, and submits them as one upstream batch through the provider's batch API. Every
/// `tasks.batch_poll_s` it polls the open batches — whichever node submitted them, so a batch left
/// by a process that died is resumed by its upstream id, never sent again — refreshing their tasks'
/// heartbeats; the node that moves an ended batch to `completed` (or `failed`) records one call per
/// task at batch prices and finishes the tasks. On graceful shutdown it stops; open batches wait in
/// the store for the next poll.
public final class TaskBatcher: Service, Sendable {
    let store: any SluiceStore
    let config: SluiceConfig
    let chat: ChatService
    let purposes: PurposeRunner
    let webhooks: TaskWebhooks
    /// The key ring, for the identity of tasks submitted with runtime keys.
    let keyRing: KeyRing?
    let clock: any WallClock
    let logger: Logger
    /// The purposes whose tasks it batches.
    let batchPurposes: [String]

    init(
        store: any SluiceStore, config: SluiceConfig, chat: ChatService, purposes: PurposeRunner, webhooks: TaskWebhooks,
        clock: any WallClock, logger: Logger, keyRing: KeyRing? = nil
    ) {
        self.keyRing = keyRing
        self.store = store
        self.config = config
        self.chat = chat
        self.purposes = purposes
        self.webhooks = webhooks
        self.clock = clock
        self.logger = logger
        batchPurposes = config.batchPurposes
    }

    /// Polls at once (resuming what a previous process left open), then every `batch_poll_s`;
    /// collects every `batch_interval_s` when batch purposes are configured. A node with
    /// `tasks.workers: 0` runs no tasks, batched ones included.
    public func run() async throws {
        guard config.tasks.workers > 0 else { return try await gracefulShutdown() }
        let poll = config.tasks.batchPollS
        let interval = config.tasks.batchIntervalS
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.every(poll, now: true) { await self.poll() } }
            if !self.batchPurposes.isEmpty {
                group.addTask { await self.every(interval, now: false) { await self.collect() } }
            }
        }
    }

    /// Runs `body` every `seconds` until graceful shutdown.
    private func every(_ seconds: Double, now: Bool, _ body: () async -> Void) async {
        if now { await body() }
        let pause = Duration.milliseconds(Int64(seconds * 1000))
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) } } catch { return }
            await body()
        }
    }

    /// Claims the queued tasks of every batch purpose and submits them, `batch_max` per batch;
    /// returns the batches the provider accepted.
    @discardableResult
    public func collect() async -> [TaskBatch] {
        var out: [TaskBatch] = []
        let max = config.tasks.batchMax
        for purpose in batchPurposes {
            while !Task.isCancelled {
                let now = clock.now()
                let id = IDs.make("batch", at: now)
                let claimed: [TaskRecord]
                do {
                    claimed = try await store.claimTasks(worker: TaskBatch.worker(id), limit: max, now: now, purposes: .only([purpose]))
                } catch {
                    logger.warning("could not claim batch tasks; will retry", metadata: ["purpose": "\(purpose)", "error": "\(error)"])
                    break
                }
                if claimed.isEmpty { break }
                if let batch = await submit(id: id, purpose: purpose, tasks: claimed, now: now) { out.append(batch) }
                if claimed.count < max { break }
            }
        }
        return out
    }

    /// The target a purpose's batches go to: the first of its model's targets.
    func target(for purpose: String) throws(SluiceError) -> ResolvedTarget {
        let p = config.purposes[purpose]
        let model = p?.model ?? p?.prompt.flatMap { purposes.prompts.library.prompt($0, version: p?.promptVersion)?.model }
        guard let model, let first = try chat.catalog.targets(for: model).first else {
            throw SluiceError(.internalError, "Purpose '\(purpose)' has no model to send its batches to.")
        }
        return first
    }

    /// Builds, stores and submits one batch of claimed tasks; tasks refused on the way end at once.
    func submit(id: String, purpose: String, tasks: [TaskRecord], now: Date) async -> TaskBatch? {
        let worker = TaskBatch.worker(id)
        let target: ResolvedTarget
        let client: any BatchClient
        do throws(SluiceError) {
            target = try self.target(for: purpose)
            guard let c = (target.provider as? any BatchCapable)?.batchClient else {
                throw SluiceError(.internalError, "Provider '\(target.provider.name)' has no batch API; purpose '\(purpose)' cannot run in batch mode.")
            }
            client = c
        } catch {
            await endAll(tasks.map { ($0.id, $0.attemptCount, ChatReply.failure(error, meta: ResponseMeta())) }, worker: worker)
            return nil
        }
        var calls: [(task: TaskRecord, call: BatchCall)] = []
        var items: [TaskBatch.Item] = []
        var entries: [JSON] = []
        var refused: [(String, Int, ChatReply)] = []
        for task in tasks {
            switch await prepare(task, target: target) {
            case .answer(let reply):
                refused.append((task.id, task.attemptCount, reply))
            case .next(let (call, item)):
                do throws(ProviderError) {
                    entries.append(try client.entry(for: BatchRequest(customID: task.id, body: call.upstreamBody)))
                    calls.append((task, call))
                    items.append(item)
                } catch {
                    let message = "Upstream '\(target.provider.name)' (model \(target.model)) cannot take this request: \(error.message)"
                    refused.append((task.id, task.attemptCount, await chat.failBatch(call, message: message, batchID: nil, target: target, status: error.status)))
                }
            }
        }
        await endAll(refused, worker: worker)
        guard !items.isEmpty else { return nil }
        let batch = TaskBatch(id: id, purpose: purpose, provider: target.provider.name, model: target.model, items: items, createdAt: now)
        do {
            try await store.createBatch(batch)
        } catch {
            logger.error("could not store a batch; its tasks fail", metadata: ["batch_id": "\(id)", "error": "\(error)"])
            await failCalls(calls, message: "Batch \(id) could not be stored, so it was not sent: \(error)", batchID: nil, target: target, worker: worker)
            return nil
        }
        // A big upload can outlast timeout_s: keep the tasks and the row alive meanwhile.
        let beat = Task {
            let every = Duration.milliseconds(Int64(max(0.2, config.tasks.timeoutS / 3) * 1000))
            while !Task.isCancelled {
                try? await Task.sleep(for: every)
                if Task.isCancelled { return }
                _ = try? await store.heartbeatBatchTasks(id, now: clock.now())
                _ = try? await store.transitionBatch(id, from: .submitting, to: .submitting, upstreamID: nil, error: nil, now: clock.now())
            }
        }
        defer { beat.cancel() }
        let upstreamID: String
        do {
            upstreamID = try await submitWithRetries(client, entries, batchID: id)
        } catch {
            let message = "Upstream '\(target.provider.name)' (model \(target.model)) refused batch \(id): \(error.message)"
            _ = try? await store.transitionBatch(id, from: .submitting, to: .failed, upstreamID: nil, error: message, now: clock.now())
            await failCalls(calls, message: message, batchID: id, target: target, worker: worker, status: error.status)
            return nil
        }
        do {
            guard
                let submitted = try await store.transitionBatch(
                    id, from: .submitting, to: .submitted, upstreamID: upstreamID, error: nil, now: clock.now())
            else {
                logger.error(
                    "a batch was submitted after it was given up as abandoned; its upstream batch is not polled",
                    metadata: ["batch_id": "\(id)", "upstream_id": "\(upstreamID)"])
                return nil
            }
            _ = try? await store.heartbeatBatchTasks(id, now: clock.now())
            logger.info(
                "batch submitted",
                metadata: ["batch_id": "\(id)", "upstream_id": "\(upstreamID)", "purpose": "\(purpose)", "tasks": "\(items.count)"])
            return submitted
        } catch {
            logger.error(
                "could not record a submitted batch; it will be given up after timeout_s and its tasks requeued",
                metadata: ["batch_id": "\(id)", "upstream_id": "\(upstreamID)", "error": "\(error)"])
            return nil
        }
    }

    /// Submits, retrying twice on a refused connection or a 408, 429 or 5xx (1 s, then 2 s). A timeout or
    /// an odd answer is not retried: the provider may have made the batch, and a second one would run twice.
    func submitWithRetries(_ client: any BatchClient, _ entries: [JSON], batchID: String) async throws(ProviderError) -> String {
        var attempt = 0
        while true {
            do {
                return try await client.submit(entries)
            } catch {
                attempt += 1
                let status = error.status ?? 0
                let transient = error.kind == .connection || (error.kind == .http && (status == 408 || status == 429 || status >= 500))
                guard transient, attempt < 3 else { throw error }
                logger.warning("batch submission failed; retrying", metadata: ["batch_id": "\(batchID)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(attempt))
            }
        }
    }

    /// A task's chat body, checked and built as a sync run would (`variables` render the purpose's prompt).
    func prepare(_ task: TaskRecord, target: ResolvedTarget) async -> Step<(BatchCall, TaskBatch.Item)> {
        let identity = TaskWorkers.identity(for: task.keyName, config: config, keyRing: keyRing)
        if task.requestIsUnreadable {
            return .answer(.failure(SluiceError(.internalError, TaskWorkers.unreadableRequest), meta: ResponseMeta()))
        }
        guard let req = (try? JSON.parse(task.request))?.objectValue else {
            return .answer(.failure(SluiceError(.internalError, "the stored request is not JSON"), meta: ResponseMeta()))
        }
        var attribution = Attribution(purpose: task.purpose, runID: req["run_id"]?.stringValue, user: req["user"]?.stringValue)
        let body: [UInt8]
        var prompt: Prompt?
        if let variables = req["variables"] {
            var run: JSONObject = ["variables": variables]
            for k in ["user", "run_id", "metadata"] { if let v = req[k] { run[k] = v } }
            let runBody = JSON.object(run).serialized()
            do {
                let prepared = try purposes.prepare(purpose: task.purpose, body: runBody, attribution: attribution)
                (body, prompt, attribution) = (prepared.0, prepared.1, prepared.2)
            } catch {
                return .answer(await chat.failUnparsed(body: runBody, error: error, attribution: attribution, identity: identity, start: .now))
            }
        } else {
            var request = req["request"]?.objectValue ?? [:]
            request["stream"] = false
            body = JSON.object(request).serialized()
        }
        switch await chat.prepareBatch(body: body, attribution: attribution, identity: identity, prompt: prompt.map(PromptRef.init), target: target) {
        case .answer(let reply):
            return .answer(prompt.map { native(reply, prompt: $0, purpose: task.purpose) } ?? reply)
        case .next(let call):
            let item = TaskBatch.Item(
                taskID: task.id, attempt: task.attemptCount, callID: call.ctx.callID, body: String(decoding: body, as: UTF8.self),
                promptName: prompt?.name, promptVersion: prompt?.version)
            return .next((call, item))
        }
    }

    /// A reply in a `variables` task's native shape (as `/v1/purposes/{purpose}/run` answers).
    func native(_ reply: ChatReply, prompt: Prompt, purpose: String) -> ChatReply {
        PurposeRunner.native(reply, prompt: prompt, hasSchema: config.purposes[purpose]?.outputSchema != nil || prompt.outputSchema != nil)
    }

    /// Records the calls as failed with `message` and fails their tasks.
    func failCalls(
        _ calls: [(task: TaskRecord, call: BatchCall)], message: String, batchID: String?, target: ResolvedTarget, worker: String,
        status: Int? = nil
    ) async {
        var ends: [(String, Int, ChatReply)] = []
        for (task, call) in calls {
            ends.append((task.id, task.attemptCount, await chat.failBatch(call, message: message, batchID: batchID, target: target, status: status)))
        }
        await endAll(ends, worker: worker)
    }

    /// Writes each task's outcome (its call id first), then queues the webhooks of those that ended.
    func endAll(_ ends: [(taskID: String, attempt: Int, reply: ChatReply)], worker: String) async {
        var ended: [TaskRecord] = []
        for (taskID, attempt, reply) in ends {
            let (status, result, error, callID) = TaskWorkers.outcome(of: reply)
            if let callID { try? await store.addTaskCall(taskID, callID: callID) }
            do {
                if let t = try await store.finishTask(
                    taskID, worker: worker, attempt: attempt, status: status, result: result, error: error, now: clock.now())
                {
                    ended.append(t)
                } else {
                    logger.notice("batch task outlived its claim; its outcome is dropped", metadata: ["task_id": "\(taskID)", "worker": "\(worker)"])
                }
            } catch {
                logger.error("could not write a batch task's outcome; the sweeper will end it", metadata: ["task_id": "\(taskID)", "error": "\(error)"])
            }
        }
        for t in ended { webhooks.send(t) }
    }
}
