import Logging
import ServiceLifecycle
import SluiceStore
import Synchronization

/// Subscribes this node to the store's change feed and hands each change to
/// the handlers registered for its topic (flags, kill switches, keys). A
/// `.resync` (notifications may have been missed) reaches every handler.
public final class ChangeWatcher: Service, Sendable {
    /// What a handler receives.
    public typealias Handler = @Sendable (ChangeEvent) async -> Void

    let feed: any ChangeFeed
    let logger: Logger
    private let handlers = Mutex<[String: [Handler]]>([:])
    private let received = Atomic<Int>(0)

    /// A watcher on `feed`.
    public init(feed: any ChangeFeed, logger: Logger) {
        self.feed = feed
        self.logger = logger
    }

    /// Calls `handler` for every change with `topic`, and on every resync.
    public func on(_ topic: String, _ handler: @escaping Handler) {
        handlers.withLock { $0[topic, default: []].append(handler) }
    }

    /// Changes received since start.
    public var changesReceived: Int { received.load(ordering: .relaxed) }

    /// True while the feed is live.
    public var isListening: Bool { feed.isListening }

    /// Delivers changes until shutdown.
    public func run() async throws {
        let stream = await feed.subscribe()
        await cancelWhenGracefulShutdown {
            for await event in stream {
                self.received.add(1, ordering: .relaxed)
                let targets: [Handler]
                switch event {
                case .change(let c):
                    self.logger.debug("change received", metadata: ["topic": "\(c.topic)"])
                    targets = self.handlers.withLock { $0[c.topic] ?? [] }
                case .resync:
                    self.logger.notice("change feed resync")
                    targets = self.handlers.withLock { $0.values.flatMap { $0 } }
                }
                for h in targets { await h(event) }
            }
        }
    }
}
