import Foundation
import Logging
import SluiceCore
import SluiceStore

/// The response cache: a byte-bounded in-memory LRU in front of the store,
/// which every node shares, plus an in-process vector index for semantic lookups.
/// Reads fall through to the store with a short time limit (a slow store is a
/// miss, never a stall); writes are queued and batched off the request path.
public final class ResponseCache: Sendable {
    let memory: ByteLRU<CacheEntry>
    let index = SemanticIndex()
    let store: any CacheStore
    let writer: CacheWriter
    let clock: any WallClock
    let logger: Logger
    /// How long a lookup waits for the store before counting as a miss.
    let storeLimit: Duration

    /// A cache holding at most `maxBytes` in memory.
    public init(store: any CacheStore, maxBytes: Int, clock: any WallClock, logger: Logger, storeLimit: Duration = .milliseconds(250)) {
        memory = ByteLRU(capacity: maxBytes)
        self.store = store
        writer = CacheWriter(store: store, logger: logger)
        self.clock = clock
        self.logger = logger
        self.storeLimit = storeLimit
    }

    /// The unexpired entry under `key`, from memory or the store.
    public func get(_ key: String) async -> CacheEntry? {
        let now = clock.now()
        if let e = memory.get(key) {
            if e.expiresAt > now { return e }
            memory.remove(key)
            return nil
        }
        let store = self.store
        do {
            guard let e = try await withStoreTimeout(storeLimit, "cache lookup", { try await store.cacheGet(key, now: now) }) else {
                return nil
            }
            memory.set(key, e, bytes: e.byteSize)
            return e
        } catch {
            logger.debug("cache lookup fell back to a miss", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// The most similar unexpired entry of `scope` at or above `threshold`, with its similarity.
    public func nearest(scope: String, vector: [Float], threshold: Double, maxEntries: Int) async -> (CacheEntry, Double)? {
        if !index.isLoaded(scope) {
            let now = clock.now()
            let store = self.store
            if let stored = try? await withStoreTimeout(.seconds(2), "semantic cache load", {
                try await store.cacheScope(scope, now: now, limit: maxEntries)
            }) {
                index.load(scope, entries: stored.compactMap { e in e.embedding.map { (e.key, $0) } }, limit: maxEntries)
                for e in stored.prefix(1000) { memory.set(e.key, e, bytes: e.byteSize) }
            }
        }
        for hit in index.search(scope, vector: vector, threshold: threshold) {
            if let e = await get(hit.key) { return (e, hit.similarity) }
            index.remove(scope, key: hit.key)
        }
        return nil
    }

    /// Stores an answer: in memory now, in the store shortly.
    public func put(_ entry: CacheEntry, maxEntries: Int) {
        memory.set(entry.key, entry, bytes: entry.byteSize)
        if let v = entry.embedding { index.add(entry.scope, key: entry.key, vector: v, limit: maxEntries) }
        writer.enqueue(entry)
    }

    /// Replaces the in-memory copy of `entry` (one with its ``CachedAnswer`` derived), if
    /// the entry is still held.
    public func remember(_ entry: CacheEntry) {
        guard memory.get(entry.key) != nil else { return }
        memory.set(entry.key, entry, bytes: entry.byteSize)
    }

    /// Forgets a purpose's entries (all when `nil`) here and in the store; returns how many the store held.
    public func clear(purpose: String?) async throws -> Int {
        memory.removeAll { purpose == nil || $0.purpose == purpose }
        await writer.flush()
        return try await store.cacheClear(purpose: purpose)
    }

    /// Writes queued entries now.
    public func flush() async { await writer.flush() }

    /// Entries and bytes in this node's memory.
    public var memoryUsage: (count: Int, bytes: Int) { memory.usage }
}
