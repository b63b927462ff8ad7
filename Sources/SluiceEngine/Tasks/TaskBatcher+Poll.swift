import Foundation
import Logging
import SluiceCore
import SluiceProviders
import SluiceStore

extension TaskBatcher {
    /// Polls every open batch, whichever node submitted it: refreshes its tasks' heartbeats and,
    /// when it has ended upstream, finishes it if this node wins the transition. A batch stuck in
    /// `submitting` past `tasks.timeout_s` (its node died before the provider confirmed it) is given
    /// up; the sweeper requeues its tasks. Returns the batches this node finished.
    @discardableResult
    public func poll() async -> [TaskBatch] {
        let open: [TaskBatch]
        do {
            open = try await store.openBatches()
        } catch {
            logger.warning("could not list open batches; will retry", metadata: ["error": "\(error)"])
            return []
        }
        var finished: [TaskBatch] = []
        for batch in open {
            switch batch.status {
            case .submitting:
                let now = clock.now()
                guard batch.updatedAt < now.addingTimeInterval(-config.tasks.timeoutS) else { continue }
                let message = "abandoned: the node submitting it stopped before the provider confirmed it; the sweeper requeues its tasks"
                if (try? await store.transitionBatch(batch.id, from: .submitting, to: .failed, upstreamID: nil, error: message, now: now)) != nil {
                    logger.warning("gave up an abandoned batch", metadata: ["batch_id": "\(batch.id)"])
                }
            case .submitted:
                if let done = await pollOne(batch) { finished.append(done) }
            case .completed, .failed:
                continue
            }
        }
        return finished
    }

    /// Polls one submitted batch; finishes it when it ended and this node won the transition.
    func pollOne(_ batch: TaskBatch) async -> TaskBatch? {
        _ = try? await store.heartbeatBatchTasks(batch.id, now: clock.now())
        guard let upstreamID = batch.upstreamID, let client = (chat.catalog.provider(named: batch.provider) as? any BatchCapable)?.batchClient
        else {
            logger.warning(
                "an open batch names a provider without a batch API in this config; it is not polled",
                metadata: ["batch_id": "\(batch.id)", "provider": "\(batch.provider)"])
            return nil
        }
        let state: BatchState
        do {
            state = try await client.poll(upstreamID)
        } catch {
            logger.warning("could not poll a batch; will retry", metadata: ["batch_id": "\(batch.id)", "error": "\(error)"])
            return nil
        }
        let results: [String: BatchOutcome]
        let missing: String
        let to: TaskBatch.Status
        switch state {
        case .running:
            return nil
        case .failed(let reason):
            (results, missing, to) = ([:], reason, .failed)
        case .ended(let r, let m):
            (results, missing, to) = (r, m, .completed)
        }
        do {
            // One node wins; it alone records the calls and finishes the tasks.
            guard let won = try await store.transitionBatch(batch.id, from: .submitted, to: to, upstreamID: nil, error: to == .failed ? missing : nil, now: clock.now())
            else { return nil }
            await finish(won, results: results, missing: missing)
            logger.info("batch ended", metadata: ["batch_id": "\(batch.id)", "status": "\(to.rawValue)", "tasks": "\(won.items.count)"])
            return won
        } catch {
            logger.warning("could not end a batch; will retry", metadata: ["batch_id": "\(batch.id)", "error": "\(error)"])
            return nil
        }
    }

    /// Records one call per task from its outcome (a task without one failed with `missing`) and finishes the tasks.
    func finish(_ batch: TaskBatch, results: [String: BatchOutcome], missing: String) async {
        var ends: [(String, Int, ChatReply)] = []
        for item in batch.items {
            let outcome = results[item.taskID] ?? .error(ProviderError(.http, message: missing))
            let task = try? await store.task(item.taskID)
            let req = task.flatMap { try? JSON.parse($0.request) }?.objectValue ?? [:]
            let attribution = Attribution(purpose: batch.purpose, runID: req["run_id"]?.stringValue, user: req["user"]?.stringValue)
            let identity = TaskWorkers.identity(for: task?.keyName, config: config, keyRing: keyRing)
            var reply = await chat.finishBatch(outcome, item: item, batch: batch, identity: identity, attribution: attribution, now: clock.now())
            if let name = item.promptName {
                let prompt =
                    purposes.prompts.library.prompt(name, version: item.promptVersion)
                    ?? Prompt(
                        name: name, version: item.promptVersion ?? "", path: "", description: nil, model: nil, params: [:], outputSchema: nil,
                        declaredVariables: nil, messages: [])
                reply = native(reply, prompt: prompt, purpose: batch.purpose)
            }
            ends.append((item.taskID, item.attempt, reply))
        }
        await endAll(ends, worker: batch.worker)
    }
}
