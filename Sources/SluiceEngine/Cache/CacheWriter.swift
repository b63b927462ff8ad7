import Logging
import ServiceLifecycle
import SluiceStore
import Synchronization

/// Writes cache entries to the store off the request path. The cache is
/// best-effort: when the store is away an entry is retried a few times and then
/// dropped (it is still served from memory), and a full queue drops new writes
/// rather than slowing a call. On graceful shutdown it writes what is queued.
final class CacheWriter: Service, Sendable {
    private let stream: AsyncStream<CacheEntry>
    private let input: AsyncStream<CacheEntry>.Continuation
    private let queued = Atomic<Int>(0)
    private let store: any CacheStore
    private let logger: Logger

    init(store: any CacheStore, logger: Logger, capacity: Int = 10_000) {
        (stream, input) = AsyncStream.makeStream(of: CacheEntry.self, bufferingPolicy: .bufferingOldest(capacity))
        self.store = store
        self.logger = logger
    }

    /// Queues an entry; never waits.
    func enqueue(_ entry: CacheEntry) {
        switch input.yield(entry) {
        case .enqueued: queued.add(1, ordering: .relaxed)
        case .dropped: logger.warning("cache write queue full; entry kept in memory only", metadata: ["purpose": "\(entry.purpose)"])
        case .terminated: Task { await self.write([entry]) }
        @unknown default: break
        }
    }

    /// Entries waiting to be written.
    var pending: Int { queued.load(ordering: .relaxed) }

    func run() async throws {
        let input = self.input
        await withGracefulShutdownHandler {
            for await entry in stream {
                await write([entry])
                queued.subtract(1, ordering: .relaxed)
            }
        } onGracefulShutdown: {
            input.finish()
        }
    }

    /// Waits until what is queued now has been written (tests, `/admin/cache`).
    func flush() async {
        for _ in 0..<500 where pending > 0 { try? await Task.sleep(for: .milliseconds(2)) }
    }

    private func write(_ batch: [CacheEntry]) async {
        for attempt in 1...3 {
            do {
                try await store.cachePut(batch)
                return
            } catch {
                if attempt == 3 {
                    logger.warning(
                        "cache entries could not be stored; they stay in this node's memory only",
                        metadata: ["entries": "\(batch.count)", "error": "\(error)"])
                    return
                }
                try? await Task.sleep(for: .milliseconds(100 * attempt))
            }
        }
    }
}
