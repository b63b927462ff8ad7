import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// Feedback rows and shadow pairs, on every backend.
@Suite struct ExperimentSuite {
    func item(_ i: Int, call: String?, at t: Date) -> Feedback {
        Feedback(
            id: IDs.make("fb", at: t.addingTimeInterval(Double(i) / 100)), callID: call, score: Double(i % 3 - 1) / 2,
            createdAt: t)
    }

    /// Every field survives the round trip, set or nil; an id added again keeps the first; unknown ids are nil.
    @Test(arguments: StoreBackend.available)
    func feedbackRoundTrip(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let full = Feedback(
                id: IDs.make("fb", at: t), callID: "call_1", taskID: "task_1", purpose: "triage", score: -0.5,
                label: "wrong_label", comment: "should be ✓ billing", action: "billing", keyName: "web", createdAt: t)
            let bare = Feedback(id: IDs.make("fb", at: t.addingTimeInterval(1)), callID: nil, score: 1, createdAt: t)
            try await store.addFeedback(full)
            try await store.addFeedback(bare)
            #expect(try await store.feedback(full.id) == full)
            #expect(try await store.feedback(bare.id) == bare)
            var changed = full
            changed.score = 1
            try await store.addFeedback(changed)
            #expect(try await store.feedback(full.id)?.score == -0.5)
            #expect(try await store.feedback("fb_missing") == nil)
        }
    }

    /// Lookup by call ids returns every item of those calls, oldest first, across statement chunks.
    @Test(arguments: StoreBackend.available)
    func feedbackByCalls(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let items = (0..<6).map { item($0, call: "call_\($0 % 3)", at: t) }
            for i in items.shuffled() { try await store.addFeedback(i) }
            #expect(try await store.feedback(callIDs: ["call_0", "call_2"]) == [items[0], items[2], items[3], items[5]])
            #expect(try await store.feedback(callIDs: []) == [])
            let many = (0..<1_200).map { "call_x\($0)" } + ["call_1"]
            #expect(try await store.feedback(callIDs: many) == [items[1], items[4]])
        }
    }

    /// A shadow row joins its primary; only the named shadow purpose, since the time, newest first, limited;
    /// rows without `shadow_of` or whose primary is missing are left out.
    @Test(arguments: StoreBackend.available)
    func shadowPairs(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow(-100)
            /// `t` plus `s` seconds, at millisecond precision as stored.
            func at(_ s: Double) -> Date { Date(timeIntervalSince1970: ((t.timeIntervalSince1970 + s) * 1000).rounded(.down) / 1000) }
            var rows: [CallRecord] = []
            var expected: [ShadowPair] = []
            for i in 0..<4 {
                var primary = record(10 * i, purpose: "triage", at: at(Double(i)))
                primary.output = #"{"label":"bug"}"#
                primary.keyName = "web"
                var shadow = record(10 * i + 1, purpose: "triage:shadow", at: at(Double(i) + 0.5))
                shadow.shadowOf = primary.callID
                shadow.output = "other \(i)"
                shadow.promptVersion = "v2"
                rows += [primary, shadow]
                expected.append(ShadowPair(primary: primary, shadow: shadow))
            }
            var orphan = record(90, purpose: "triage:shadow", at: at(5))
            orphan.shadowOf = IDs.callID(at: t)
            var stray = record(91, purpose: "triage:shadow", at: at(5))
            stray.shadowOf = nil
            var other = record(92, purpose: "faq:shadow", at: at(5))
            other.shadowOf = rows[0].callID
            try await store.insert(rows + [orphan, stray, other])

            let all = try await store.shadowPairs(purpose: "triage:shadow", since: t, limit: 100)
            #expect(all == expected.reversed())
            #expect(all.first?.shadow.shadowOf == all.first?.primary.callID)
            #expect(try await store.get(rows[1].callID)?.shadowOf == rows[0].callID)
            #expect(try await store.get(rows[0].callID)?.shadowOf == nil)
            #expect(try await store.shadowPairs(purpose: "triage:shadow", since: at(2), limit: 100) == [expected[3], expected[2]])
            #expect(try await store.shadowPairs(purpose: "triage:shadow", since: t, limit: 1) == [expected[3]])
            #expect(try await store.shadowPairs(purpose: "faq:shadow", since: t, limit: 10).map(\.primary.callID) == [rows[0].callID])
            #expect(try await store.shadowPairs(purpose: "none:shadow", since: t, limit: 10).isEmpty)
        }
    }
}
