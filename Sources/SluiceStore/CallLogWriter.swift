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
        /// The batch being written now.
        var writing: [CallRecord] = []
        var blocked = Deque<(CallRecord, BlockedWaiter)>()
        var consumer: CheckedContinuation<Void, Never>?
        var shuttingDown = false
        var writeFailing = false
        /// Set when the consumer has exited; later appends are written directly.
        var closed = false
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

    /// The record of `callID` while it is queued or being written (not yet readable from
    /// the store); `nil` otherwise. Read this before the store: a record leaves here only
    /// once its batch is committed.
    public func pendingRecord(_ callID: String) -> CallRecord? {
        state.withLock { s in
            s.writing.first { $0.callID == callID } ?? s.queue.first { $0.callID == callID }
                ?? s.blocked.first { $0.0.callID == callID }?.0
        }
    }

    /// True while the last write attempt failed (the store is away).
    public var isDegraded: Bool { state.withLock { $0.writeFailing } }

    /// Queues a record; waits only while the queue is full.
    public func append(_ record: CallRecord) async {
        enum Admit { case queued(CheckedContinuation<Void, Never>?), full, closed }
        let admit = state.withLock { s -> Admit in
            if s.closed { return .closed }
            guard s.queue.count + s.inFlight < capacity, s.blocked.isEmpty else { return .full }
            s.queue.append(record)
            defer { s.consumer = nil }
            return .queued(s.consumer)
        }
        switch admit {
        case .queued(let wake):
            wake?.resume()
            return
        case .closed:
            await writeLate(record)
            return
        case .full:
            break
        }
        let closedMeanwhile = await withCheckedContinuation { (cont: CheckedContinuation<Bool, Never>) in
            let (wake, closed) = state.withLock { s -> (CheckedContinuation<Void, Never>?, Bool) in
                if s.closed { return (nil, true) }
                s.blocked.append((record, BlockedWaiter(cont)))
                defer { s.consumer = nil }
                return (s.consumer, false)
            }
            wake?.resume()
            if closed { cont.resume(returning: true) }
        }
        if closedMeanwhile { await writeLate(record) }
    }

    /// Waits until every record appended so far is written.
    public func flush() async {
        while pending > 0 { try? await Task.sleep(for: .milliseconds(5)) }
    }

    /// Writes until shutdown, then drains. The writes run in a task of their own
    /// that does not inherit cancellation: a cancelled service group must still
    /// drain the queue, and GRDB refuses to write from a cancelled task.
    public func run() async throws {
        let worker = Task { await self.consume() }
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await worker.value
            } onCancel: {
                self.beginShutdown()
            }
        } onGracefulShutdown: {
            self.beginShutdown()
        }
    }

    /// A record that arrives after the writer stopped (a stream abandoned at exit).
    private func writeLate(_ record: CallRecord) async {
        do {
            try await Task { try await self.store.insert([record]) }.value
        } catch {
            logger.critical("unwritten call record", metadata: ["call_id": "\(record.callID)", "error": "\(error)"])
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
            let resumed = state.withLock { s -> [BlockedWaiter] in
                s.inFlight -= batch.count
                s.writing = []
                var out: [BlockedWaiter] = []
                while s.queue.count + s.inFlight < capacity, let (record, cont) = s.blocked.popFirst() {
                    s.queue.append(record)
                    out.append(cont)
                }
                return out
            }
            for c in resumed { c.resume() }
        }
        let late = state.withLock { s -> [(CallRecord, BlockedWaiter)] in
            s.closed = true
            defer { s.blocked.removeAll() }
            return Array(s.blocked)
        }
        for (record, waiter) in late {
            await writeLate(record)
            waiter.resume()
        }
        logger.info("call log drained")
    }

    private func nextBatch() async -> [CallRecord]? {
        while true {
            enum Step { case batch([CallRecord]), finished, wait }
            let step = state.withLock { s -> Step in
                if s.queue.isEmpty, let (record, waiter) = s.blocked.popFirst() {
                    s.queue.append(record)
                    waiter.resume()
                }
                if !s.queue.isEmpty {
                    let n = min(batchSize, s.queue.count)
                    var batch: [CallRecord] = []
                    batch.reserveCapacity(n)
                    for _ in 0..<n { batch.append(s.queue.removeFirst()) }
                    s.inFlight += n
                    s.writing = batch
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
        var failuresWhileStopping = 0
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
                if stopping { failuresWhileStopping += 1 }
                // Give up only when stopping and the store has kept failing for about a minute.
                if failuresWhileStopping >= 15 {
                    for r in batch { logger.critical("unwritten call record", metadata: ["call_id": "\(r.callID)"]) }
                    return
                }
                try? await Task.sleep(for: .milliseconds(delayMs))
                delayMs = min(delayMs * 2, 5_000)
            }
        }
    }
}

/// A producer waiting for room; resumed with `false` once its record is queued.
struct BlockedWaiter: Sendable {
    let continuation: CheckedContinuation<Bool, Never>
    init(_ continuation: CheckedContinuation<Bool, Never>) { self.continuation = continuation }
    func resume() { continuation.resume(returning: false) }
}
