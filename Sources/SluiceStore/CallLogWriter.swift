import DequeModule
import Logging
import ServiceLifecycle
import SluiceCore
import Synchronization

/// The bounded queue between the request path and the call log.
///
/// `append` returns as soon as the record is queued; when the queue is full it
/// waits (back-pressure) and never drops. One consumer writes batches of up to
/// `batchSize` records in one transaction, retrying a failed batch with backoff
/// so nothing is lost while the store is away. On graceful shutdown (SIGTERM)
/// it drains every queued record before `run()` returns.
public final class CallLogWriter: Service, Sendable {
    struct State {
        var queue = Deque<CallRecord>()
        var inFlight = 0
        var blocked = Deque<(CallRecord, CheckedContinuation<Void, Never>)>()
        var consumer: CheckedContinuation<Void, Never>?
        var shuttingDown = false
        var writeFailing = false
    }

    private let state = Mutex(State())
    let store: any CallStore
    let capacity: Int
    let batchSize: Int
    let logger: Logger

    /// - Parameters:
    ///   - capacity: records held in memory before `append` waits.
    ///   - batchSize: most records per transaction.
    public init(store: any CallStore, capacity: Int = 50_000, batchSize: Int = 1_000, logger: Logger) {
        self.store = store
        self.capacity = max(1, capacity)
        self.batchSize = max(1, batchSize)
        self.logger = logger
    }

    /// Records queued or being written.
    public var pending: Int {
        state.withLock { $0.queue.count + $0.inFlight + $0.blocked.count }
    }

    /// True while the last write attempt failed (the store is away).
    public var isDegraded: Bool { state.withLock { $0.writeFailing } }

    /// Queues a record; waits only while the queue is full.
    public func append(_ record: CallRecord) async {
        let (accepted, wake) = state.withLock { s -> (Bool, CheckedContinuation<Void, Never>?) in
            guard s.queue.count + s.inFlight < capacity, s.blocked.isEmpty else { return (false, nil) }
            s.queue.append(record)
            defer { s.consumer = nil }
            return (true, s.consumer)
        }
        wake?.resume()
        if accepted { return }
        await withCheckedContinuation { (cont: CheckedContinuation<Void, Never>) in
            let wake = state.withLock { s -> CheckedContinuation<Void, Never>? in
                s.blocked.append((record, cont))
                defer { s.consumer = nil }
                return s.consumer
            }
            wake?.resume()
        }
    }

    /// Waits until every record appended so far is written.
    public func flush() async {
        while pending > 0 { try? await Task.sleep(for: .milliseconds(5)) }
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await self.consume()
            } onCancel: {
                self.beginShutdown()
            }
        } onGracefulShutdown: {
            self.beginShutdown()
        }
    }

    func beginShutdown() {
        let wake = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.shuttingDown = true
            defer { s.consumer = nil }
            return s.consumer
        }
        wake?.resume()
    }

    /// How long the writer lets a small batch grow before writing it, so that a
    /// steady trickle of calls costs one transaction per interval, not per call.
    static let linger: Duration = .milliseconds(5)

    private func consume() async {
        while true {
            let small = state.withLock { !$0.shuttingDown && $0.queue.count < batchSize / 2 }
            if small { try? await Task.sleep(for: Self.linger) }
            guard let batch = await nextBatch() else { break }
            await write(batch)
            let resumed = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                s.inFlight -= batch.count
                var out: [CheckedContinuation<Void, Never>] = []
                while s.queue.count + s.inFlight < capacity, let (record, cont) = s.blocked.popFirst() {
                    s.queue.append(record)
                    out.append(cont)
                }
                return out
            }
            for c in resumed { c.resume() }
        }
        logger.info("call log drained")
    }

    private func nextBatch() async -> [CallRecord]? {
        while true {
            enum Step { case batch([CallRecord]), finished, wait }
            let step = state.withLock { s -> Step in
                if s.queue.isEmpty, let (record, cont) = s.blocked.popFirst() {
                    s.queue.append(record)
                    cont.resume()
                }
                if !s.queue.isEmpty {
                    let n = min(batchSize, s.queue.count)
                    var batch: [CallRecord] = []
                    batch.reserveCapacity(n)
                    for _ in 0..<n { batch.append(s.queue.removeFirst()) }
                    s.inFlight += n
                    return .batch(batch)
                }
                return s.shuttingDown ? .finished : .wait
            }
            switch step {
            case .batch(let b): return b
            case .finished: return nil
            case .wait:
                await withCheckedContinuation { (cont: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { s -> Bool in
                        if !s.queue.isEmpty || !s.blocked.isEmpty || s.shuttingDown { return true }
                        s.consumer = cont
                        return false
                    }
                    if resumeNow { cont.resume() }
                }
            }
        }
    }

    private func write(_ batch: [CallRecord]) async {
        var delayMs = 50
        var failures = 0
        while true {
            do {
                try await store.insert(batch)
                if failures > 0 { logger.notice("call log store is back", metadata: ["rows": "\(batch.count)"]) }
                state.withLock { $0.writeFailing = false }
                return
            } catch {
                failures += 1
                state.withLock { $0.writeFailing = true }
                logger.error("call log write failed; will retry", metadata: ["error": "\(error)", "rows": "\(batch.count)"])
                let stopping = state.withLock { $0.shuttingDown }
                if stopping && failures >= 20 {
                    for r in batch { logger.critical("unwritten call record", metadata: ["call_id": "\(r.callID)"]) }
                    return
                }
                // Cancellation must not end the retry loop early: sleep without throwing.
                try? await Task.sleep(for: .milliseconds(delayMs))
                delayMs = min(delayMs * 2, 5_000)
            }
        }
    }
}
