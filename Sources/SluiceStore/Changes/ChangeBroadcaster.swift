import Synchronization

/// Fans events out to in-process subscribers; the SQLite feed and the
/// PostgreSQL listener both deliver through it.
final class ChangeBroadcaster: Sendable {
    private let subscribers = Mutex<[Int: AsyncStream<ChangeEvent>.Continuation]>([:])
    private let nextID = Atomic<Int>(0)

    var count: Int { subscribers.withLock { $0.count } }

    func subscribe() -> AsyncStream<ChangeEvent> {
        let id = nextID.add(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncStream<ChangeEvent>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        continuation.onTermination = { [weak self] _ in
            self?.subscribers.withLock { _ = $0.removeValue(forKey: id) }
        }
        subscribers.withLock { $0[id] = continuation }
        return stream
    }

    func send(_ event: ChangeEvent) {
        for c in subscribers.withLock({ Array($0.values) }) { c.yield(event) }
    }

    func finish() {
        for c in subscribers.withLock({ s -> [AsyncStream<ChangeEvent>.Continuation] in
            defer { s.removeAll() }
            return Array(s.values)
        }) { c.finish() }
    }
}

/// The SQLite mode feed: one process, delivered in process.
public final class LocalChangeFeed: ChangeFeed {
    let broadcaster = ChangeBroadcaster()

    /// An in-process feed.
    public init() {}

    /// Delivers to every subscriber of this process.
    public func publish(_ change: Change) async throws { broadcaster.send(.change(change)) }

    /// A stream of this process's changes.
    public func subscribe() async -> AsyncStream<ChangeEvent> { broadcaster.subscribe() }

    /// Always true: nothing can be missed in process.
    public var isListening: Bool { true }
}
