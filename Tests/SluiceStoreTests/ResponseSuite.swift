import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// Responses API state (`/v1/responses`): stored per key, chained by `previous_response_id`, sealed at rest.
@Suite struct ResponseSuite {
    /// A completed response created `i` hundredths of a second after `at`, continuing `previous`.
    func response(
        _ i: Int, at: Date, previous: String? = nil, scope: String = "app", status: StoredResponse.Status = .completed,
        expiresAt: Date? = nil
    ) -> StoredResponse {
        let t = at.addingTimeInterval(Double(i) / 100)
        let created = Date(timeIntervalSince1970: (t.timeIntervalSince1970 * 1000).rounded(.down) / 1000)
        return StoredResponse(
            id: IDs.make("resp", at: t), scope: scope, status: status, model: "fast", previousResponseID: previous,
            request: #"{"model":"fast","input":"turn \#(i)"}"#, inputItems: #"[{"role":"user","content":"turn \#(i)"}]"#,
            outputItems: #"[{"type":"message","content":[{"type":"output_text","text":"answer \#(i) ✓"}]}]"#,
            response: #"{"id":"x","status":"completed"}"#, callID: IDs.callID(at: t), createdAt: created, expiresAt: expiresAt)
    }

    /// Every field survives the round trip, set or nil; saving an id again replaces it; an unknown id is nil;
    /// a response of another scope is read by id like any other (scoping is the route's job).
    @Test(arguments: StoreBackend.available)
    func savedResponsesRoundTripAndReplace(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let full = StoredResponse(
                id: "resp_full", scope: "team-a", status: .inProgress, model: "gpt-4o", previousResponseID: "resp_prev", store: true,
                request: #"{"model":"gpt-4o","background":true}"#, inputItems: "[]", outputItems: "[]", response: #"{"id":"resp_full"}"#,
                callID: "call_1", taskID: "task_1", error: "upstream said no", createdAt: t, updatedAt: t.addingTimeInterval(2),
                expiresAt: t.addingTimeInterval(86_400))
            let bare = StoredResponse(id: "resp_bare", status: .queued, model: "m", store: false, createdAt: t)
            try await store.saveResponse(full)
            try await store.saveResponse(bare)
            #expect(try await store.response(full.id) == full)
            let got = try #require(try await store.response(bare.id))
            #expect(got == bare)
            #expect(got.scope == "" && !got.store && got.updatedAt == t && got.expiresAt == nil)
            #expect(got.request == nil && got.inputItems == nil && got.outputItems == nil && got.response == nil)
            #expect(got.previousResponseID == nil && got.callID == nil && got.taskID == nil && got.error == nil)
            #expect(try await store.response("resp_missing") == nil)

            var replaced = full
            replaced.status = .completed
            replaced.outputItems = #"[{"type":"message"}]"#
            replaced.error = nil
            replaced.updatedAt = t.addingTimeInterval(5)
            try await store.saveResponse(replaced)
            #expect(try await store.response(full.id) == replaced)

            let other = response(0, at: t, scope: "team-b")
            try await store.saveResponse(other)
            #expect(try await store.response(other.id)?.scope == "team-b")
            #expect(try await store.response(full.id)?.scope == "team-a")
            for status in StoredResponse.Status.allCases {
                var r = bare
                r.status = status
                try await store.saveResponse(r)
                #expect(try await store.response(bare.id)?.status == status)
            }
        }
    }

    /// A chain of three comes back oldest first; `limit` keeps the newest; it stops at a deleted ancestor.
    @Test(arguments: StoreBackend.available)
    func chainsComeBackOldestFirst(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let r1 = response(1, at: t)
            let r2 = response(2, at: t, previous: r1.id)
            let r3 = response(3, at: t, previous: r2.id)
            let unrelated = response(4, at: t, previous: r1.id)
            for r in [r3, unrelated, r1, r2] { try await store.saveResponse(r) }

            #expect(try await store.responseChain(r3.id, limit: 10) == [r1, r2, r3])
            #expect(try await store.responseChain(r3.id, limit: 3) == [r1, r2, r3])
            #expect(try await store.responseChain(r3.id, limit: 2) == [r2, r3])
            #expect(try await store.responseChain(r3.id, limit: 1) == [r3])
            #expect(try await store.responseChain(r3.id, limit: 0).isEmpty)
            #expect(try await store.responseChain(r3.id, limit: -1).isEmpty)
            #expect(try await store.responseChain(r3.id, limit: Int.max) == [r1, r2, r3])
            #expect(try await store.responseChain(unrelated.id, limit: 10) == [r1, unrelated])
            #expect(try await store.responseChain(r1.id, limit: 10) == [r1])
            #expect(try await store.responseChain("resp_missing", limit: 10).isEmpty)

            #expect(try await store.deleteResponse(r1.id))
            #expect(try await store.responseChain(r3.id, limit: 10) == [r2, r3])
        }
    }

    /// Delete says whether there was a response.
    @Test(arguments: StoreBackend.available)
    func deleteRemovesOnce(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let r = response(0, at: storedNow())
            try await store.saveResponse(r)
            #expect(try await store.deleteResponse(r.id))
            #expect(try await store.response(r.id) == nil)
            #expect(try await store.deleteResponse(r.id) == false)
            #expect(try await store.deleteResponse("resp_missing") == false)
        }
    }

    /// The status changes only from the listed statuses: a queued response is cancelled, a completed
    /// one is not; a worker moves one through in_progress to failed with its error.
    @Test(arguments: StoreBackend.available)
    func statusIsCompareAndSet(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let queued = response(1, at: t, status: .queued)
            let done = response(2, at: t, status: .completed)
            try await store.saveResponse(queued)
            try await store.saveResponse(done)
            let later = t.addingTimeInterval(7)

            let cancelled = try #require(
                try await store.updateResponseStatus(queued.id, status: .cancelled, error: nil, now: later, onlyFrom: [.queued, .inProgress]))
            var expected = queued
            expected.status = .cancelled
            expected.updatedAt = later
            #expect(cancelled == expected)
            #expect(try await store.response(queued.id) == expected)
            #expect(try await store.updateResponseStatus(queued.id, status: .cancelled, error: nil, now: later, onlyFrom: [.queued, .inProgress]) == nil)

            #expect(try await store.updateResponseStatus(done.id, status: .cancelled, error: nil, now: later, onlyFrom: [.queued, .inProgress]) == nil)
            #expect(try await store.response(done.id) == done)
            #expect(try await store.updateResponseStatus("resp_missing", status: .cancelled, error: nil, now: later, onlyFrom: [.queued]) == nil)
            #expect(try await store.updateResponseStatus(done.id, status: .failed, error: "x", now: later, onlyFrom: []) == nil)
            #expect(try await store.response(done.id) == done)

            let work = response(3, at: t, status: .queued)
            try await store.saveResponse(work)
            let running = try #require(try await store.updateResponseStatus(work.id, status: .inProgress, error: nil, now: t.addingTimeInterval(1), onlyFrom: [.queued]))
            #expect(running.status == .inProgress && running.updatedAt == t.addingTimeInterval(1))
            let failed = try #require(
                try await store.updateResponseStatus(work.id, status: .failed, error: "upstream 500 ✗", now: t.addingTimeInterval(2), onlyFrom: [.inProgress]))
            #expect(failed.status == .failed && failed.error == "upstream 500 ✗" && failed.outputItems == work.outputItems)
            #expect(try await store.response(work.id) == failed)
        }
    }

    /// Two clients (nodes) cancelling one response at once: exactly one changes it.
    @Test(arguments: StoreBackend.available)
    func oneOfTwoRacingCancelsWins(_ backend: StoreBackend) async throws {
        try await withStore(backend) { fixture, store in
            let other = try await fixture.open()
            do {
                let t = storedNow()
                for round in 0..<5 {
                    let r = response(round, at: t, status: .inProgress)
                    try await store.saveResponse(r)
                    async let a = store.updateResponseStatus(r.id, status: .cancelled, error: nil, now: t, onlyFrom: [.queued, .inProgress])
                    async let b = other.updateResponseStatus(r.id, status: .completed, error: nil, now: t, onlyFrom: [.queued, .inProgress])
                    let (x, y) = try await (a, b)
                    #expect((x == nil) != (y == nil))
                    #expect(try await store.response(r.id)?.status == (x != nil ? .cancelled : .completed))
                }
                try await other.close()
            } catch {
                try? await other.close()
                throw error
            }
        }
    }

    /// Only responses whose expiry is before the cutoff are deleted; one without an expiry stays.
    @Test(arguments: StoreBackend.available)
    func expiredResponsesAreDeleted(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let old = response(1, at: t, expiresAt: t.addingTimeInterval(-1))
            let fresh = response(2, at: t, expiresAt: t.addingTimeInterval(60))
            let kept = response(3, at: t)
            for r in [old, fresh, kept] { try await store.saveResponse(r) }
            #expect(try await store.deleteExpiredResponses(before: t) == 1)
            #expect(try await store.response(old.id) == nil)
            #expect(try await store.response(fresh.id) == fresh)
            #expect(try await store.deleteExpiredResponses(before: t.addingTimeInterval(60)) == 0)
            #expect(try await store.deleteExpiredResponses(before: t.addingTimeInterval(365 * 86_400)) == 1)
            #expect(try await store.response(kept.id) == kept)
        }
    }

    /// With a cipher the raw request, items and response columns hold `enc:v1:` and read back as plain text;
    /// the error is kept as it is; a store without the key reads the bodies as unreadable.
    @Test(arguments: StoreBackend.available)
    func bodiesAreSealedAtRest(_ backend: StoreBackend) async throws {
        let cipher = BodyCipher(key: .random())
        let secret = EncryptionSuite.prompt
        try await StoreFixture.with(backend) { fixture in
            let t = storedNow()
            let r = StoredResponse(
                id: "resp_sealed", scope: "app", status: .failed, model: "fast",
                request: #"{"input":"\#(secret)"}"#, inputItems: #"[{"role":"user","content":"\#(secret)"}]"#,
                outputItems: #"[{"type":"output_text","text":"\#(EncryptionSuite.answer)"}]"#,
                response: #"{"output_text":"\#(EncryptionSuite.answer)"}"#, error: "rate limited", createdAt: t)
            let tombstone = StoredResponse(id: "resp_tomb", status: .completed, model: "fast", store: false, createdAt: t)
            try await EncryptionSuite.withClient(fixture, cipher: cipher) { keyed in
                try await keyed.saveResponse(r)
                try await keyed.saveResponse(tombstone)
                let raw = try await EncryptionSuite.rawTexts(
                    keyed, "SELECT request, input_items, output_items, response, error FROM responses WHERE id = ?", r.id, count: 5)
                EncryptionSuite.expectSealed(Array(raw.prefix(4)))
                #expect(raw[4] == "rate limited")
                #expect(try await keyed.response(r.id) == r)
                #expect(try await keyed.responseChain(r.id, limit: 5) == [r])
                let cancelled = try await keyed.updateResponseStatus(r.id, status: .cancelled, error: nil, now: t, onlyFrom: [.failed])
                #expect(cancelled?.inputItems == r.inputItems && cancelled?.response == r.response)
                let bare = try await EncryptionSuite.rawTexts(
                    keyed, "SELECT request, input_items, output_items, response FROM responses WHERE id = ?", tombstone.id, count: 4)
                #expect(bare == [nil, nil, nil, nil])
                #expect(try await keyed.response(tombstone.id) == tombstone)
            }
            for other in EncryptionSuite.strangers {
                try await EncryptionSuite.withClient(fixture, cipher: other) { store in
                    let got = try #require(try await store.response(r.id))
                    #expect(got.request == BodyCipher.unreadable && got.inputItems == BodyCipher.unreadable)
                    #expect(got.outputItems == BodyCipher.unreadable && got.response == BodyCipher.unreadable)
                    #expect(got.status == .cancelled && got.model == "fast" && got.scope == "app")
                }
            }
        }
    }
}
