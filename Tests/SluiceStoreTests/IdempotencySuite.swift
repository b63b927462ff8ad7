import Foundation
import SluiceStore
import SluiceTesting
import Testing

@Suite struct IdempotencySuite {
    func claim(_ store: any SluiceStore, _ key: String = "k1", hash: String = "h1", at now: Date, scope: String = "app")
        async throws -> IdempotencyClaim
    {
        try await store.claimIdempotency(
            scope: scope, key: key, requestHash: hash, now: now, expiredBefore: now.addingTimeInterval(-86_400),
            abandonedBefore: now.addingTimeInterval(-600))
    }

    /// A new key is claimed; the same request while it runs is in progress, another is a conflict;
    /// once completed the same request replays the stored response; keys are scoped.
    @Test(arguments: StoreBackend.available)
    func claimCompleteReplay(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            #expect(try await claim(store, at: t) == .claimed)
            guard case .inProgress(let running) = try await claim(store, at: t.addingTimeInterval(1)) else {
                Issue.record("a running claim must be in progress")
                return
            }
            #expect(running.completedAt == nil && running.createdAt == t)
            guard case .conflict = try await claim(store, hash: "h2", at: t.addingTimeInterval(1)) else {
                Issue.record("another body under the key must conflict")
                return
            }
            #expect(try await claim(store, at: t, scope: "other") == .claimed)

            // A stale claim time stores nothing.
            try await store.completeIdempotency(
                scope: "app", key: "k1", claimedAt: t.addingTimeInterval(-5), status: 200, headers: "[]", body: "stale", now: t)
            guard case .inProgress = try await claim(store, at: t.addingTimeInterval(2)) else {
                Issue.record("a completion under another claim time must not land")
                return
            }
            try await store.completeIdempotency(
                scope: "app", key: "k1", claimedAt: t, status: 201, headers: #"[["x-a","1"]]"#, body: "{\"ok\":true} ✓", now: t.addingTimeInterval(3))
            let expected = IdempotentResponse(
                scope: "app", key: "k1", requestHash: "h1", createdAt: t, completedAt: t.addingTimeInterval(3), status: 201,
                headers: #"[["x-a","1"]]"#, body: "{\"ok\":true} ✓")
            #expect(try await claim(store, at: t.addingTimeInterval(4)) == .replay(expected))
            #expect(try await claim(store, hash: "h2", at: t.addingTimeInterval(4)) == .conflict(expected))
        }
    }

    /// A released claim, an expired response and an abandoned claim can all be claimed again; prune deletes old rows.
    @Test(arguments: StoreBackend.available)
    func releaseExpiryAbandonPrune(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            #expect(try await claim(store, "r", at: t) == .claimed)
            try await store.releaseIdempotency(scope: "app", key: "r", claimedAt: t)
            #expect(try await claim(store, "r", hash: "other", at: t.addingTimeInterval(1)) == .claimed)

            #expect(try await claim(store, "e", at: t) == .claimed)
            try await store.completeIdempotency(scope: "app", key: "e", claimedAt: t, status: 200, headers: "[]", body: "old", now: t)
            // A release after completion leaves the stored response.
            try await store.releaseIdempotency(scope: "app", key: "e", claimedAt: t)
            guard case .replay = try await claim(store, "e", at: t.addingTimeInterval(86_399)) else {
                Issue.record("a response stored under a day ago must replay")
                return
            }
            #expect(try await claim(store, "e", hash: "new", at: t.addingTimeInterval(86_401)) == .claimed)

            #expect(try await claim(store, "a", at: t) == .claimed)
            guard case .inProgress = try await claim(store, "a", at: t.addingTimeInterval(599)) else {
                Issue.record("a recent claim must hold")
                return
            }
            #expect(try await claim(store, "a", at: t.addingTimeInterval(601)) == .claimed)

            #expect(try await store.pruneIdempotency(before: t.addingTimeInterval(2)) == 1)  // only "r" was claimed before t+2
            #expect(try await claim(store, "r", at: t.addingTimeInterval(3)) == .claimed)
        }
    }
}
