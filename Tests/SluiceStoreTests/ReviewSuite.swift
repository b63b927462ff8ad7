import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

@Suite struct ReviewSuite {
    /// A pending item created `i` hundredths of a second after `at`, so ids sort by `i`.
    func item(_ i: Int, purpose: String = "triage", at: Date) -> ReviewItem {
        let t = at.addingTimeInterval(Double(i) / 100)
        return ReviewItem(
            id: IDs.make("rev", at: t), callID: IDs.callID(at: t), purpose: purpose, reason: "always",
            output: #"{"label":"\#(i)"}"#, createdAt: Date(timeIntervalSince1970: (t.timeIntervalSince1970 * 1000).rounded(.down) / 1000))
    }

    /// Every field survives the round trip, set or nil; an unknown id is nil; adding an id again keeps the stored item.
    @Test(arguments: StoreBackend.available)
    func itemsRoundTrip(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let bare = item(0, at: t)
            let full = ReviewItem(
                id: IDs.make("rev", at: t.addingTimeInterval(1)), callID: "call_x", taskID: "task_1", purpose: "extract",
                reason: "guard_flagged:output:no_urls", status: .edited, output: "raw ✓", editedOutput: "fixed",
                createdAt: t, decidedAt: t.addingTimeInterval(2), decidedBy: "alice", note: "typo")
            try await store.addReview(bare)
            try await store.addReview(full)
            #expect(try await store.review(bare.id) == bare)
            #expect(try await store.review(full.id) == full)
            let got = try #require(try await store.review(bare.id))
            #expect(got.taskID == nil && got.editedOutput == nil && got.decidedAt == nil)
            #expect(got.decidedBy == nil && got.note == nil && got.status == .pending)
            #expect(try await store.review("rev_missing") == nil)

            var again = full
            again.status = .pending
            again.decidedAt = nil
            try await store.addReview(again)
            #expect(try await store.review(full.id) == full)
        }
    }

    /// Newest first; status and purpose filter; `before` pages by id; `limit` is clamped.
    @Test(arguments: StoreBackend.available)
    func listFiltersAndPages(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            var items = (0..<8).map { item($0, purpose: $0 % 2 == 0 ? "a" : "b", at: t) }
            items[1].status = .approved
            items[4].status = .rejected
            for i in items.shuffled() { try await store.addReview(i) }

            let all = try await store.reviews(status: nil, purpose: nil, limit: 100, before: nil)
            #expect(all == items.reversed())
            #expect(try await store.reviews(status: .pending, purpose: nil, limit: 100, before: nil).map(\.id)
                == [7, 6, 5, 3, 2, 0].map { items[$0].id })
            #expect(try await store.reviews(status: nil, purpose: "a", limit: 100, before: nil).map(\.id)
                == [6, 4, 2, 0].map { items[$0].id })
            #expect(try await store.reviews(status: .pending, purpose: "b", limit: 100, before: nil).map(\.id)
                == [7, 5, 3].map { items[$0].id })
            #expect(try await store.reviews(status: .edited, purpose: nil, limit: 100, before: nil).isEmpty)

            let page = try await store.reviews(status: nil, purpose: nil, limit: 3, before: nil)
            #expect(page.map(\.id) == [7, 6, 5].map { items[$0].id })
            let next = try await store.reviews(status: nil, purpose: nil, limit: 3, before: page.last?.id)
            #expect(next.map(\.id) == [4, 3, 2].map { items[$0].id })
            let pendingB = try await store.reviews(status: .pending, purpose: "b", limit: 10, before: items[5].id)
            #expect(pendingB.map(\.id) == [items[3].id])
            #expect(try await store.reviews(status: nil, purpose: nil, limit: 10, before: items[0].id).isEmpty)

            #expect(try await store.reviews(status: nil, purpose: nil, limit: 0, before: nil).isEmpty)
            #expect(try await store.reviews(status: nil, purpose: nil, limit: -5, before: nil).isEmpty)
            #expect(try await store.reviews(status: nil, purpose: nil, limit: Int.max, before: nil).count == 8)
        }
    }

    /// A pending item is decided once: approved or edited with the reviewer's output, actor, note
    /// and time; a second decision returns the first unchanged; a missing id is nil.
    @Test(arguments: StoreBackend.available)
    func decisionsAreFinal(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let a = item(0, at: t)
            let b = item(1, at: t)
            try await store.addReview(a)
            try await store.addReview(b)

            let at = t.addingTimeInterval(60)
            let approved = try #require(
                try await store.decideReview(a.id, ReviewDecision(status: .approved, actor: "alice", at: at)))
            var expected = a
            expected.status = .approved
            expected.decidedAt = at
            expected.decidedBy = "alice"
            #expect(approved == expected)
            #expect(try await store.review(a.id) == expected)

            let edited = try #require(
                try await store.decideReview(
                    b.id, ReviewDecision(status: .edited, editedOutput: #"{"label":"ok"}"#, actor: "bob", note: "relabel", at: at)))
            #expect(edited.status == .edited)
            #expect(edited.editedOutput == #"{"label":"ok"}"#)
            #expect(edited.output == b.output)
            #expect(edited.decidedBy == "bob" && edited.note == "relabel" && edited.decidedAt == at)
            #expect(try await store.review(b.id) == edited)

            let late = ReviewDecision(status: .rejected, actor: "carol", note: "no", at: at.addingTimeInterval(5))
            #expect(try await store.decideReview(a.id, late) == expected)
            #expect(try await store.decideReview(b.id, late) == edited)
            #expect(try await store.review(a.id) == expected)
            #expect(try await store.decideReview("rev_missing", late) == nil)
            #expect(try await store.reviews(status: .pending, purpose: nil, limit: 10, before: nil).isEmpty)
        }
    }

    /// Two nodes deciding one item at once with different statuses: exactly one decision is
    /// stored and both calls return it.
    @Test(arguments: StoreBackend.available)
    func concurrentDecisionsAgreeOnTheFirst(_ backend: StoreBackend) async throws {
        try await withStore(backend) { fixture, store in
            let other = try await fixture.open()
            do {
                try await decideTogether(store, other)
                try await other.close()
            } catch {
                try? await other.close()
                throw error
            }
        }
    }

    func decideTogether(_ store: any SluiceStore, _ other: any SluiceStore) async throws {
        let t = storedNow()
        for round in 0..<10 {
            let it = item(round, at: t)
            try await store.addReview(it)
            let at = t.addingTimeInterval(60)
            async let one = store.decideReview(it.id, ReviewDecision(status: .approved, actor: "n1", at: at))
            async let two = other.decideReview(
                it.id, ReviewDecision(status: .rejected, actor: "n2", note: "bad", at: at.addingTimeInterval(1)))
            let (first, second) = try await (one, two)
            let stored = try #require(try await store.review(it.id))
            #expect(first == stored)
            #expect(second == stored)
            #expect(stored.status == .approved || stored.status == .rejected)
            #expect(stored.decidedBy == (stored.status == .approved ? "n1" : "n2"))
            #expect(stored.note == (stored.status == .approved ? nil : "bad"))
        }
    }
}
