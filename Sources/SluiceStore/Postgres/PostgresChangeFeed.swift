import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Change notification over PostgreSQL `LISTEN`/`NOTIFY`. One pooled
/// connection per node listens while anyone subscribes; when it is lost the
/// feed reconnects with backoff and sends `.resync`, since notifications sent
/// meanwhile are gone.
final class PostgresChangeFeed: ChangeFeed {
    private struct State {
        var listener: Task<Void, Never>?
        var listening = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var stopped = false
    }

    let client: PostgresClient
    let channel: String
    let logger: Logger
    let broadcaster = ChangeBroadcaster()
    private let state = Mutex(State())

    init(client: PostgresClient, channel: String, logger: Logger) {
        self.client = client
        self.channel = channel
        self.logger = logger
    }

    var isListening: Bool { state.withLock { $0.listening } }

    func publish(_ change: Change) async throws {
        let client = self.client
        let query: PostgresQuery = "SELECT pg_notify(\(channel), \(change.wire))"
        do {
            try await withStoreTimeout(.seconds(5), "PostgreSQL notify") { _ = try await client.query(query) }
        } catch let e as PSQLError {
            throw PostgresStoreError(operation: "notify", error: e)
        }
    }

    func subscribe() async -> AsyncStream<ChangeEvent> {
        let stream = broadcaster.subscribe()
        let start = state.withLock { s -> Bool in
            guard s.listener == nil, !s.stopped else { return false }
            s.listener = Task { [weak self] in await self?.listen() }
            return true
        }
        _ = start
        await waitUntilListening(for: .seconds(3))
        return stream
    }

    /// Waits until the listener is live, or `limit` passes.
    func waitUntilListening(for limit: Duration) async {
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
    }

    private func wakeWaiters() {
        for w in state.withLock({ s -> [CheckedContinuation<Void, Never>] in
            defer { s.waiters.removeAll() }
            return s.waiters
        }) { w.resume() }
    }

    private func setListening(_ on: Bool) {
        state.withLock { $0.listening = on }
        if on { wakeWaiters() }
    }

    private func listen() async {
        var everListened = false
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled {
            do {
                try await client.withConnection { conn in
                    try await conn.listen(on: self.channel) { notifications in
                        self.setListening(true)
                        if everListened {
                            self.logger.notice("change notifications are back; subscribers resync")
                            self.broadcaster.send(.resync)
                        }
                        everListened = true
                        delay = .milliseconds(100)
                        for try await n in notifications {
                            if let change = Change(wire: n.payload) { self.broadcaster.send(.change(change)) }
                        }
                    }
                }
            } catch {
                if !Task.isCancelled {
                    logger.warning("change notification listener lost; reconnecting", metadata: ["error": "\(error)"])
                }
            }
            setListening(false)
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(2))
        }
    }

    func stop() async {
        let task = state.withLock { s -> Task<Void, Never>? in
            s.stopped = true
            return s.listener
        }
        wakeWaiters()
        task?.cancel()
        await task?.value
        broadcaster.finish()
    }
}
