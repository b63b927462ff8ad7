import Foundation
import SluiceStore
import SluiceTesting
import Testing

@Suite struct EvalScoreSuite {
    /// One claim per suite and slot, whoever asks; scores round-trip newest first per purpose.
    @Test(arguments: StoreBackend.available)
    func slotsAreClaimedOnceAndScoresRoundTrip(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            #expect(try await store.claimEvalSlot(suite: "golden", slot: 42, node: "a", at: t))
            #expect(try await !store.claimEvalSlot(suite: "golden", slot: 42, node: "b", at: t))
            #expect(try await store.claimEvalSlot(suite: "golden", slot: 43, node: "b", at: t))
            #expect(try await store.claimEvalSlot(suite: "other", slot: 42, node: "b", at: t))

            let old = EvalScore(
                id: "evs_1", suite: "golden", purpose: "triage", promptVersion: "v3", model: "fast", answeredModel: "gpt-4o-mini-2024-07-18",
                cases: 10, passRate: 0.9, judgeMean: 0.75, costUSD: 0.0123, at: t)
            let new = EvalScore(
                id: "evs_2", suite: "golden", purpose: "triage", promptVersion: nil, model: "smart", answeredModel: nil,
                cases: 4, passRate: 0.5, judgeMean: nil, costUSD: 0, at: t.addingTimeInterval(60))
            let elsewhere = EvalScore(
                id: "evs_3", suite: "faq", purpose: "faq", promptVersion: "v1", model: "fast", answeredModel: nil,
                cases: 1, passRate: 1, judgeMean: nil, costUSD: 0, at: t)
            try await store.addEvalScores([old, new, elsewhere])
            try await store.addEvalScores([old])  // a retried write keeps one row
            #expect(try await store.evalScores(purpose: "triage", limit: 10) == [new, old])
            #expect(try await store.evalScores(purpose: "triage", limit: 1) == [new])
            #expect(try await store.evalScores(purpose: "faq", limit: 10) == [elsewhere])
        }
    }
}
