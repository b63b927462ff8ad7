import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Change notification over PostgreSQL `LISTEN`/`NOTIFY`. One pooled
/// connection per node listens while anyone subscribes; when it is lost the
/// feed reconnects with backoff and sends `.resync`, since notifications sent
/// meanwhile are gone.
///
/// A listening connection only receives, so a peer that vanished without
/// closing the socket (a half-open connection) would go unnoticed for ever:
/// every ``livenessInterval`` the listener runs `SELECT 1` on its connection,
/// and when that does not answer within ``livenessTimeout`` it closes the
/// connection and listens again on a fresh one.
final class PostgresChangeFeed: ChangeFeed {
    private struct State {
        var listener: Task<Void, Never>?
        var listening = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var stopped = false
        /// Notifications may have been missed since the last time the listener was live
        /// (it was lost, or a subscriber stopped waiting for it): send `.resync` when it is.
        var resyncDue = false
        /// The server process of the listening connection, for diagnostics and tests.
        var backendPID: Int32?
    }

    let client: PostgresClient
    let channel: String
    let logger: Logger
    let broadcaster = ChangeBroadcaster()
    private let state = Mutex(State())
    /// How often the listening connection is checked.
    let livenessInterval: Duration
    /// How long the check may take before the connection counts as dead.
    let livenessTimeout: Duration

    init(
        client: PostgresClient, channel: String, logger: Logger,
        livenessInterval: Duration = .seconds(5), livenessTimeout: Duration = .seconds(3)
    ) {
        self.client = client
        self.channel = channel
        self.logger = logger
        self.livenessInterval = livenessInterval
        self.livenessTimeout = livenessTimeout
    }

    var isListening: Bool { state.withLock { $0.listening } }

    /// The server process id of the listening connection, while listening.
    var listenerBackendPID: Int32? { state.withLock { $0.listening ? $0.backendPID : nil } }

    func publish(_ change: Change) async throws {
        let client = self.client
        let query: PostgresQuery = "SELECT pg_notify(\(channel), \(change.wire))"
        do {
            try await withStoreTimeout(.seconds(5), "PostgreSQL notify") { _ = try await client.query(query) }
        } catch {
            throw PostgresStoreError.readable(error, operation: "notify")
        }
    }

    func subscribe() async -> AsyncStream<ChangeEvent> {
        let stream = broadcaster.subscribe()
        state.withLock { s in
            guard s.listener == nil, !s.stopped else { return }
            s.listener = Task { [weak self] in await self?.listen() }
        }
        if await !waitUntilListening(for: .seconds(3)) {
            // The subscriber goes on without a live listener: whatever is published until it
            // is live is missed, so it gets a `.resync` then.
            state.withLock { if !$0.stopped { $0.resyncDue = true } }
            if isListening { resyncNowIfDue() }  // it came up in between
        }
        return stream
    }

    /// Waits until the listener is live, or `limit` passes; true when it is live.
    @discardableResult
    func waitUntilListening(for limit: Duration) async -> Bool {
        let timer = Task { [weak self] in
            try? await Task.sleep(for: limit)
            self?.wakeWaiters()
        }
        await withCheckedContinuation { (cont: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { s -> Bool in
                if s.listening || s.stopped { return true }
                s.waiters.append(cont)
                return false
            }
            if ready { cont.resume() }
        }
        timer.cancel()
        return isListening
    }

    private func wakeWaiters() {
        for w in state.withLock({ s -> [CheckedContinuation<Void, Never>] in
            defer { s.waiters.removeAll() }
            return s.waiters
        }) { w.resume() }
    }

    /// The listener is live on the connection of server process `pid`.
    private func listeningStarted(pid: Int32?) {
        state.withLock {
            $0.listening = true
            $0.backendPID = pid
        }
        resyncNowIfDue()
        wakeWaiters()
    }

    /// Sends `.resync` if notifications may have been missed.
    private func resyncNowIfDue() {
        let due = state.withLock { s -> Bool in
            defer { s.resyncDue = false }
            return s.resyncDue
        }
        if due {
            logger.notice("change notifications are live again; subscribers resync")
            broadcaster.send(.resync)
        }
    }

    /// The listener is down: anything published until it is back is missed. True if it was live.
    private func listeningLost() -> Bool {
        state.withLock {
            let was = $0.listening
            if was { $0.resyncDue = true }
            $0.listening = false
            $0.backendPID = nil
            return was
        }
    }

    private func listen() async {
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled {
            do {
                try await listenOnce()
            } catch {
                if !Task.isCancelled {
                    logger.warning(
                        "change notification listener lost; reconnecting",
                        metadata: ["error": "\(PostgresStoreError.readable(error, operation: "listen"))"])
                }
            }
            if listeningLost() { delay = .milliseconds(100) }
            if Task.isCancelled { break }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(2))
        }
    }

    /// Why a listening session ended without a database error.
    private struct ListenerEnded: Error, CustomStringConvertible {
        var description: String
    }

    /// One listening session on one pooled connection: notifications are delivered while a
    /// second task checks the connection. The session ends (and the connection is closed, so the
    /// pool replaces it) when either fails or the listener is cancelled.
    private func listenOnce() async throws {
        let channel = self.channel
        let interval = livenessInterval
        let timeout = livenessTimeout
        let logger = self.logger
        try await client.withConnection { conn in
            let pid = try? await withStoreTimeout(timeout, "PostgreSQL listener pid") {
                try await conn.query("SELECT pg_backend_pid()", logger: logger).collect().first?.decode(Int32.self)
            }
            defer { _ = conn.close() as EventLoopFuture<Void> }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await conn.listen(on: channel) { notifications in
                        self.listeningStarted(pid: pid)
                        for try await n in notifications {
                            if let change = Change(wire: n.payload) { self.broadcaster.send(.change(change)) }
                        }
                    }
                    if !Task.isCancelled { throw ListenerEnded(description: "the notification stream ended") }
                }
                group.addTask {
                    // Also covers a LISTEN that never answers: the check queues behind it and times out.
                    while true {
                        try await Task.sleep(for: interval)
                        do {
                            try await withStoreTimeout(timeout, "PostgreSQL listener check") {
                                _ = try await conn.query("SELECT 1", logger: logger).collect()
                            }
                        } catch let e as StoreTimeout {
                            throw ListenerEnded(description: "the listening connection did not answer a check (\(e))")
                        }
                    }
                }
                defer { group.cancelAll() }
                do {
                    _ = try await group.next()
                } catch {
                    // Close first: a query stuck on a dead connection only ends when it is closed.
                    _ = conn.close() as EventLoopFuture<Void>
                    throw error
                }
                _ = conn.close() as EventLoopFuture<Void>
            }
        }
    }

    func stop() async {
        let task = state.withLock { s -> Task<Void, Never>? in
            s.stopped = true
            s.resyncDue = false
            return s.listener
        }
        wakeWaiters()
        task?.cancel()
        await task?.value
        broadcaster.finish()
    }
}
