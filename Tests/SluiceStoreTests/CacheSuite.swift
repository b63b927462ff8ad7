import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

@Suite struct CacheSuite {
    func entry(
        _ key: String, scope: String = "s1", purpose: String = "triage", at created: Date, ttl: TimeInterval = 60,
        body: String = "{}", embedding: [Float]? = [1, 0]
    ) -> CacheEntry {
        CacheEntry(
            key: key, scope: scope, purpose: purpose, promptVersion: "v1", model: "m", provider: "openai",
            answeredModel: "m-2025", body: Array(body.utf8), inputTokens: 10, outputTokens: 5, costUSD: 0.01,
            createdAt: created, expiresAt: created.addingTimeInterval(ttl), embedding: embedding)
    }

    func call(_ i: Int, purpose: String, cache: String, saved: Double, at: Date) -> CallRecord {
        var r = record(i, purpose: purpose, at: at)
        r.cache = cache
        r.savedUSD = saved
        return r
    }

    /// Every field survives a put and a get, the embedding bit for bit and nil fields as nil.
    @Test(arguments: StoreBackend.available)
    func entriesRoundTrip(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let full = CacheEntry(
                key: "k-full", scope: "scope-a", purpose: "triage", promptVersion: "v3", model: "gpt-x", provider: "openai",
                answeredModel: "gpt-x-2025-01-01", body: [0, 1, 2, 0xFF, 0x7B, 0x7D], inputTokens: 1_234, outputTokens: 56,
                costUSD: 0.0123, createdAt: t, expiresAt: t.addingTimeInterval(3_600),
                embedding: [0.6, -0.8, 0, -0.0, 1e-30, .greatestFiniteMagnitude, 0.333_333_34])
            let bare = CacheEntry(
                key: "k-bare", scope: "scope-a", purpose: "triage", promptVersion: nil, model: "gpt-x", provider: nil,
                answeredModel: nil, body: [], inputTokens: 0, outputTokens: 0, costUSD: nil, createdAt: t,
                expiresAt: t.addingTimeInterval(60), embedding: nil)
            try await store.cachePut([full, bare])
            let gotFull = try #require(try await store.cacheGet("k-full", now: t))
            #expect(gotFull == full)
            #expect(gotFull.embedding?.map(\.bitPattern) == full.embedding?.map(\.bitPattern))
            #expect(try await store.cacheGet("k-bare", now: t) == bare)
            #expect(try await store.cacheGet("k-missing", now: t) == nil)
            try await store.cachePut([])
        }
    }

    /// An entry is served until its expiry and not at or after it.
    @Test(arguments: StoreBackend.available)
    func expiredEntriesAreNotServed(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let e = entry("k", at: t, ttl: 10)
            try await store.cachePut([e])
            #expect(try await store.cacheGet("k", now: t.addingTimeInterval(9.999)) == e)
            #expect(try await store.cacheGet("k", now: t.addingTimeInterval(10)) == nil)
            #expect(try await store.cacheGet("k", now: t.addingTimeInterval(3_600)) == nil)
        }
    }

    /// A put under an existing key replaces every column, also within one batch (the last wins).
    @Test(arguments: StoreBackend.available)
    func putReplacesAnExistingKey(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            try await store.cachePut([entry("k", at: t, body: "old")])
            var new = entry("k", scope: "s2", purpose: "other", at: t.addingTimeInterval(1), ttl: 120, body: "new", embedding: nil)
            new.promptVersion = nil
            new.provider = nil
            new.costUSD = nil
            new.inputTokens = 99
            try await store.cachePut([new])
            #expect(try await store.cacheGet("k", now: t) == new)
            var last = new
            last.body = Array("last".utf8)
            try await store.cachePut([new, last])
            #expect(try await store.cacheGet("k", now: t) == last)
            #expect(try await store.cacheSizes()["other"]?.entries == 1)
            #expect(try await store.cacheSizes()["triage"] == nil)
        }
    }

    /// A scope lists only its own unexpired entries with embeddings, newest first, at most `limit`.
    @Test(arguments: StoreBackend.available)
    func scopeListsNewestEmbeddedEntries(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            try await store.cachePut([
                entry("a1", at: t, embedding: [1, 0]),
                entry("a2", at: t.addingTimeInterval(2), embedding: [0, 1]),
                entry("a3", at: t.addingTimeInterval(1), embedding: [0.5, 0.5]),
                entry("a-exact", at: t.addingTimeInterval(3), embedding: nil),
                entry("a-old", at: t.addingTimeInterval(-100), ttl: 50, embedding: [1, 1]),
                entry("b1", scope: "s2", at: t.addingTimeInterval(4), embedding: [1, 0]),
            ])
            let now = t.addingTimeInterval(5)
            let all = try await store.cacheScope("s1", now: now, limit: 10)
            #expect(all.map(\.key) == ["a2", "a3", "a1"])
            #expect(all.first?.embedding == [0, 1])
            #expect(try await store.cacheScope("s1", now: now, limit: 2).map(\.key) == ["a2", "a3"])
            #expect(try await store.cacheScope("s1", now: now, limit: 0).isEmpty)
            #expect(try await store.cacheScope("s2", now: now, limit: 10).map(\.key) == ["b1"])
            #expect(try await store.cacheScope("s3", now: now, limit: 10).isEmpty)
            // a1 and a3 expire at t+60 and t+61; a2 at t+62.
            #expect(try await store.cacheScope("s1", now: t.addingTimeInterval(61), limit: 10).map(\.key) == ["a2"])
        }
    }

    /// Purge deletes what expired; clear deletes one purpose or everything; sizes count bodies.
    @Test(arguments: StoreBackend.available)
    func purgeClearAndSizes(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            try await store.cachePut([
                entry("t1", purpose: "triage", at: t, ttl: 10, body: "12345"),
                entry("t2", purpose: "triage", at: t, ttl: 100, body: "123"),
                entry("t3", purpose: "triage", at: t, ttl: 20, body: ""),
                entry("s1", purpose: "summary", at: t, ttl: 10, body: "1234567890"),
                entry("s2", purpose: "summary", at: t, ttl: 100, body: "12"),
                entry("x1", purpose: "extract", at: t, ttl: 100, body: "1"),
            ])
            var sizes = try await store.cacheSizes()
            #expect(sizes.count == 3)
            #expect(sizes["triage"]?.entries == 3)
            #expect(sizes["triage"]?.bytes == 8)
            #expect(sizes["summary"]?.entries == 2)
            #expect(sizes["summary"]?.bytes == 12)
            #expect(sizes["extract"]?.bytes == 1)

            #expect(try await store.cachePurge(expiredAt: t.addingTimeInterval(9)) == 0)
            #expect(try await store.cachePurge(expiredAt: t.addingTimeInterval(10)) == 2)  // t1, s1: at expiry counts
            #expect(try await store.cachePurge(expiredAt: t.addingTimeInterval(10)) == 0)
            sizes = try await store.cacheSizes()
            #expect(sizes["triage"]?.entries == 2)
            #expect(sizes["triage"]?.bytes == 3)
            #expect(sizes["summary"]?.bytes == 2)

            #expect(try await store.cacheClear(purpose: "nope") == 0)
            #expect(try await store.cacheClear(purpose: "triage") == 2)
            #expect(try await store.cacheGet("t2", now: t) == nil)
            #expect(try await store.cacheGet("s2", now: t) != nil)
            #expect(Set(try await store.cacheSizes().keys) == ["summary", "extract"])
            #expect(try await store.cacheClear(purpose: nil) == 2)
            #expect(try await store.cacheSizes().isEmpty)
            #expect(try await store.cacheClear(purpose: nil) == 0)
        }
    }

    /// Usage comes from the call records since a time: bypasses are not lookups, only hits
    /// save, and purposes without lookups are left out.
    @Test(arguments: StoreBackend.available)
    func usageAggregatesCallRecords(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            try await store.insert([
                // record(i) has i input and 2i output tokens.
                call(1, purpose: "triage", cache: "hit", saved: 0.25, at: t),
                call(2, purpose: "triage", cache: "hit", saved: 0.5, at: t),
                call(3, purpose: "triage", cache: "semantic_hit", saved: 0.125, at: t),
                call(4, purpose: "triage", cache: "miss", saved: 0.0625, at: t),  // prompt caching: not a hit
                call(5, purpose: "triage", cache: "bypass", saved: 1, at: t),
                call(6, purpose: "bypassed", cache: "bypass", saved: 0, at: t),
                call(7, purpose: "alpha", cache: "miss", saved: 0, at: t),
                call(8, purpose: "alpha", cache: "semantic_hit", saved: 2, at: t),
                call(9, purpose: "triage", cache: "hit", saved: 4, at: t.addingTimeInterval(-3_600)),  // too old
            ])
            let rows = try await store.cacheUsage(since: t.addingTimeInterval(-60))
            #expect(rows == [
                CacheUsageRow(purpose: "alpha", lookups: 2, hits: 0, semanticHits: 1, savedUSD: 2, savedTokens: 24),
                CacheUsageRow(purpose: "triage", lookups: 4, hits: 2, semanticHits: 1, savedUSD: 0.875, savedTokens: 18),
            ])
            #expect(try await store.cacheUsage(since: t.addingTimeInterval(-7_200)).first { $0.purpose == "triage" }?.hits == 3)
            #expect(try await store.cacheUsage(since: t).count == 2)  // since is inclusive
            #expect(try await store.cacheUsage(since: t.addingTimeInterval(1)).isEmpty)
        }
    }

    /// `cache_similarity` is stored with the call record, and is nil when unset.
    @Test(arguments: StoreBackend.available)
    func callRecordKeepsCacheSimilarity(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            var semantic = call(1, purpose: "triage", cache: "semantic_hit", saved: 0.1, at: storedNow())
            semantic.cacheSimilarity = 0.9731
            let plain = call(2, purpose: "triage", cache: "miss", saved: 0, at: storedNow())
            try await store.insert([semantic, plain])
            let got = try #require(try await store.get(semantic.callID))
            #expect(got == semantic)
            #expect(got.cacheSimilarity == 0.9731)
            #expect(try await store.get(plain.callID)?.cacheSimilarity == nil)
            #expect(try await store.list(CallFilter(purpose: "triage")).compactMap(\.cacheSimilarity) == [0.9731])
        }
    }

    /// On a shared store an entry written by one node is served, listed and cleared by another.
    @Test(arguments: StoreBackend.available)
    func entriesAreSharedBetweenNodes(_ backend: StoreBackend) async throws {
        try await withStore(backend) { fixture, store in
            let other = backend == .postgres ? try await fixture.open() : store
            let t = storedNow()
            let e = entry("shared", at: t, embedding: [0.25, -0.5, 0.75])
            try await store.cachePut([e])
            #expect(try await other.cacheGet("shared", now: t) == e)
            #expect(try await other.cacheScope("s1", now: t, limit: 5) == [e])
            #expect(try await other.cacheClear(purpose: "triage") == 1)
            #expect(try await store.cacheGet("shared", now: t) == nil)
            if backend == .postgres { try await other.close() }
        }
    }
}
