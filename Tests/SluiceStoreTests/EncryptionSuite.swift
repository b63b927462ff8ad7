import Foundation
import GRDB
import PostgresNIO
import SluiceCore
@testable import SluiceStore
import SluiceTesting
import Testing

/// `storage.encryption_key`: stored request and response bodies are sealed at rest on both backends.
@Suite struct EncryptionSuite {
    static let prompt = "the secret launch code is tangerine-42"
    static let answer = "noted: tangerine-42 is safe with me"

    /// A record with both bodies set.
    static func withBodies(_ i: Int) -> CallRecord {
        var r = record(i, at: storedNow())
        r.requestBody = #"{"messages":[{"role":"user","content":"\#(prompt)"}]}"#
        r.output = answer
        return r
    }

    /// The stored `request_body` and `output` of `callID`, as the database holds them.
    static func rawBodies(_ store: any SluiceStore, _ callID: String) async throws -> (String?, String?) {
        let sql = "SELECT request_body, output FROM calls WHERE call_id = "
        if let sqlite = store as? SQLiteStore {
            return try await sqlite.pool.read { db in
                let row = try #require(try Row.fetchOne(db, sql: sql + "?", arguments: [callID]))
                return (row[0], row[1])
            }
        }
        let pg = try #require(store as? PostgresStore)
        let row = try #require(try await pg.rows("raw bodies", sql + "$1", [.text(callID)]).first)
        return try row.decode((String?, String?).self)
    }

    /// Opens a second client on the fixture's database with `cipher`, runs `body`, closes it.
    static func withClient(_ fixture: StoreFixture, cipher: BodyCipher?, _ body: (any SluiceStore) async throws -> Void) async throws {
        let store = try await fixture.open(cipher: cipher)
        do {
            try await body(store)
            try await store.close()
        } catch {
            try? await store.close()
            throw error
        }
    }

    @Test(arguments: StoreBackend.available)
    func bodiesAreSealedAtRestAndOpenWithTheKey(_ backend: StoreBackend) async throws {
        let key = EncryptionKey.random()
        try await StoreFixture.with(backend) { fixture in
            let r = Self.withBodies(1)
            try await Self.withClient(fixture, cipher: BodyCipher(key: key)) { keyed in
                try await keyed.insert([r])
                let (body, output) = try await Self.rawBodies(keyed, r.callID)
                for raw in [body, output] {
                    let text = try #require(raw)
                    #expect(text.hasPrefix(BodyCipher.prefix))
                    #expect(!text.contains("tangerine"))
                }
                #expect(try await keyed.get(r.callID) == r)
                #expect(try await keyed.list(CallFilter()).first == r)
            }
            for cipher in [nil, BodyCipher(key: .random())] {
                try await Self.withClient(fixture, cipher: cipher) { other in
                    let got = try #require(try await other.get(r.callID))
                    #expect(got.requestBody == BodyCipher.unreadable)
                    #expect(got.output == BodyCipher.unreadable)
                    #expect(got.inputHash == r.inputHash && got.usage == r.usage)
                }
            }
        }
    }

    /// Rows written before the key was set stay readable; each value gets its own nonce.
    @Test(arguments: StoreBackend.available)
    func plaintextRowsStayReadableAndNoncesDiffer(_ backend: StoreBackend) async throws {
        let cipher = BodyCipher(key: .random())
        try await StoreFixture.with(backend) { fixture in
            let old = Self.withBodies(1)
            try await Self.withClient(fixture, cipher: nil) { try await $0.insert([old]) }
            var a = Self.withBodies(2), b = Self.withBodies(3)
            a.output = nil
            try await Self.withClient(fixture, cipher: cipher) { keyed in
                try await keyed.insert([a, b])
                #expect(try await keyed.get(old.callID) == old)
                #expect(try await keyed.get(a.callID) == a)
                let rawA = try await Self.rawBodies(keyed, a.callID), rawB = try await Self.rawBodies(keyed, b.callID)
                #expect(rawA.1 == nil)
                #expect(rawA.0 != rawB.0)
                #expect(try await Self.rawBodies(keyed, old.callID).1 == Self.answer)
            }
        }
    }

    // MARK: The other tables that hold bodies

    /// Text columns of one row as the database holds them; `sql` selects `count` columns by one `?` id.
    static func rawTexts(_ store: any SluiceStore, _ sql: String, _ id: String, count: Int) async throws -> [String?] {
        if let sqlite = store as? SQLiteStore {
            return try await sqlite.pool.read { db in
                let row = try #require(try Row.fetchOne(db, sql: sql, arguments: [id]))
                return (0..<count).map { row[$0] as String? }
            }
        }
        let pg = try #require(store as? PostgresStore)
        let row = try #require(try await pg.rows("raw texts", sql.replacingOccurrences(of: "?", with: "$1"), [.text(id)]).first)
        return try PostgresStore.cells(row, kinds: Array(repeating: .text, count: count)).map(\.text)
    }

    /// Binary columns of one row as the database holds them; `sql` selects `count` columns by one `?` id.
    static func rawBytes(_ store: any SluiceStore, _ sql: String, _ id: String, count: Int) async throws -> [[UInt8]?] {
        if let sqlite = store as? SQLiteStore {
            return try await sqlite.pool.read { db in
                let row = try #require(try Row.fetchOne(db, sql: sql, arguments: [id]))
                return (0..<count).map { (row[$0] as Data?).map { [UInt8]($0) } }
            }
        }
        let pg = try #require(store as? PostgresStore)
        let row = try #require(try await pg.rows("raw bytes", sql.replacingOccurrences(of: "?", with: "$1"), [.text(id)]).first)
        let c = row.makeRandomAccess()
        return try (0..<count).map { try c[$0].decode(ByteBuffer?.self).map { Array($0.readableBytesView) } }
    }

    /// Every value is present, starts with `enc:v1:` and holds no secret.
    static func expectSealed(_ values: [String?], sourceLocation: SourceLocation = #_sourceLocation) {
        for value in values {
            guard let value else {
                Issue.record("a sealed column is NULL", sourceLocation: sourceLocation)
                continue
            }
            #expect(value.hasPrefix(BodyCipher.prefix), sourceLocation: sourceLocation)
            #expect(!value.contains("tangerine"), sourceLocation: sourceLocation)
        }
    }

    /// The stores that must not see the plaintext: no key, and another key.
    static let strangers: [BodyCipher?] = [nil, BodyCipher(key: .random())]

    /// Cache bodies and embeddings are sealed; a store without the key misses instead of serving them.
    @Test(arguments: StoreBackend.available)
    func cacheEntriesAreSealedAndMissWithoutTheKey(_ backend: StoreBackend) async throws {
        let cipher = BodyCipher(key: .random())
        try await StoreFixture.with(backend) { fixture in
            let t = storedNow()
            let entry = CacheEntry(
                key: "k-sealed", scope: "s1", purpose: "faq", promptVersion: "v1", model: "m", provider: "up", answeredModel: "m-1",
                body: Array(#"{"choices":[{"message":{"content":"\#(Self.answer)"}}]}"#.utf8), inputTokens: 10, outputTokens: 5,
                costUSD: 0.01, createdAt: t, expiresAt: t.addingTimeInterval(3_600), embedding: [0.6, -0.8, 0.25])
            var old = entry
            old.key = "k-plain"
            try await Self.withClient(fixture, cipher: nil) { try await $0.cachePut([old]) }
            try await Self.withClient(fixture, cipher: cipher) { keyed in
                try await keyed.cachePut([entry])
                let raw = try await Self.rawBytes(keyed, "SELECT body, embedding FROM cache_entries WHERE key = ?", entry.key, count: 2)
                Self.expectSealed(raw.map { $0.map { String(decoding: $0, as: UTF8.self) } })
                #expect(try await keyed.cacheGet(entry.key, now: t) == entry)
                #expect(try await keyed.cacheGet(old.key, now: t) == old)
                #expect(try await keyed.cacheScope("s1", now: t, limit: 10).sorted { $0.key < $1.key } == [old, entry])
            }
            for other in Self.strangers {
                try await Self.withClient(fixture, cipher: other) { store in
                    let sealed = try await store.cacheGet(entry.key, now: t)
                    #expect(sealed == nil)
                    #expect(try await store.cacheScope("s1", now: t, limit: 10) == [old])
                    #expect(try await store.cacheGet(old.key, now: t) == old)
                    #expect(try await store.cacheSizes()["faq"]?.entries == 2)
                }
            }
        }
    }

    /// Stored idempotent responses are sealed; without the key the same request is `unreadable`, never a replay.
    @Test(arguments: StoreBackend.available)
    func idempotentResponsesAreSealedAndNeverReplayedUnreadable(_ backend: StoreBackend) async throws {
        let cipher = BodyCipher(key: .random())
        try await StoreFixture.with(backend) { fixture in
            let t = storedNow()
            func claim(_ store: any SluiceStore, _ key: String) async throws -> IdempotencyClaim {
                try await store.claimIdempotency(
                    scope: "app", key: key, requestHash: "h1", now: t.addingTimeInterval(1), expiredBefore: t.addingTimeInterval(-86_400),
                    abandonedBefore: t.addingTimeInterval(-600))
            }
            func complete(_ store: any SluiceStore, _ key: String) async throws {
                #expect(try await claim(store, key) == .claimed)
                try await store.completeIdempotency(
                    scope: "app", key: key, claimedAt: t.addingTimeInterval(1), status: 200, headers: "[]", body: Self.answer,
                    now: t.addingTimeInterval(2))
            }
            let stored = IdempotentResponse(
                scope: "app", key: "k-sealed", requestHash: "h1", createdAt: t.addingTimeInterval(1), completedAt: t.addingTimeInterval(2),
                status: 200, headers: "[]", body: Self.answer)
            var old = stored
            old.key = "k-plain"
            try await Self.withClient(fixture, cipher: nil) { try await complete($0, old.key) }
            try await Self.withClient(fixture, cipher: cipher) { keyed in
                try await complete(keyed, stored.key)
                Self.expectSealed(try await Self.rawTexts(keyed, "SELECT body FROM idempotent_responses WHERE key = ?", stored.key, count: 1))
                #expect(try await claim(keyed, stored.key) == .replay(stored))
                #expect(try await claim(keyed, old.key) == .replay(old))
            }
            for other in Self.strangers {
                try await Self.withClient(fixture, cipher: other) { store in
                    guard case .unreadable(let got) = try await claim(store, stored.key) else {
                        Issue.record("a response sealed with another key must come back unreadable")
                        return
                    }
                    #expect(got.body == BodyCipher.unreadable && got.status == 200)
                    #expect(try await claim(store, old.key) == .replay(old))
                }
            }
        }
    }

    /// Task requests, results and errors are sealed; without the key the request reads as unreadable.
    @Test(arguments: StoreBackend.available)
    func taskBodiesAreSealed(_ backend: StoreBackend) async throws {
        let cipher = BodyCipher(key: .random())
        try await StoreFixture.with(backend) { fixture in
            let t = storedNow()
            let request = #"{"request":{"messages":[{"role":"user","content":"\#(Self.prompt)"}]}}"#
            let task = TaskRecord(
                id: IDs.make("task", at: t), purpose: "extract", idempotencyKey: "idem-1", requestHash: "h1", request: request,
                keyName: "app", webhookURL: nil, maxAttempts: 3, createdAt: t)
            let old = TaskRecord(
                id: IDs.make("task", at: t.addingTimeInterval(-1)), purpose: "legacy", idempotencyKey: nil, requestHash: "h0",
                request: request, keyName: nil, webhookURL: nil, maxAttempts: 3, createdAt: t.addingTimeInterval(-1))
            try await Self.withClient(fixture, cipher: nil) { plain in
                let created = try await plain.createTask(old)
                #expect(created == .created(old))
            }
            try await Self.withClient(fixture, cipher: cipher) { keyed in
                #expect(try await keyed.createTask(task) == .created(task))
                #expect(try await keyed.createTask(task) == .existing(task))
                let claimed = try await keyed.claimTasks(worker: "w", limit: 1, now: t, purposes: .only(["extract"]))
                #expect(claimed.map(\.request) == [request])
                let result = #"{"text":"\#(Self.answer)"}"#, error = "HTTP 422: the answer was \(Self.answer)"
                let ended = try #require(
                    try await keyed.finishTask(task.id, worker: "w", attempt: 1, status: .succeeded, result: result, error: error, now: t))
                #expect(ended.result == result && ended.errorMessage == error && ended.request == request)
                Self.expectSealed(
                    try await Self.rawTexts(keyed, "SELECT request, result, error_message FROM tasks WHERE id = ?", task.id, count: 3))
                #expect(try await keyed.task(task.id) == ended)
                #expect(try await keyed.tasks(status: nil, purpose: nil, limit: 10, before: nil) == [ended, old])
                #expect(!(try #require(try await keyed.task(task.id))).requestIsUnreadable)
            }
            for other in Self.strangers {
                try await Self.withClient(fixture, cipher: other) { store in
                    let got = try #require(try await store.task(task.id))
                    #expect(got.requestIsUnreadable && got.request == BodyCipher.unreadable)
                    #expect(got.result == BodyCipher.unreadable && got.errorMessage == BodyCipher.unreadable)
                    #expect(got.requestHash == "h1" && got.status == .succeeded)
                    #expect(try await store.task(old.id)?.request == request)
                }
            }
        }
    }

    /// Batch items' bodies are sealed inside the `items` JSON.
    @Test(arguments: StoreBackend.available)
    func batchItemBodiesAreSealed(_ backend: StoreBackend) async throws {
        let cipher = BodyCipher(key: .random())
        try await StoreFixture.with(backend) { fixture in
            let t = storedNow()
            let body = #"{"model":"fast","messages":[{"role":"user","content":"\#(Self.prompt)"}]}"#
            let items = (1...2).map { TaskBatch.Item(taskID: "task_\($0)", attempt: 1, callID: "call_\($0)", body: body, promptName: "triage", promptVersion: "v1") }
            let batch = TaskBatch(id: "batch_1", purpose: "bulk", provider: "up", model: "gpt-4o-mini", items: items, createdAt: t)
            try await Self.withClient(fixture, cipher: cipher) { keyed in
                try await keyed.createBatch(batch)
                let raw = try #require(try await Self.rawTexts(keyed, "SELECT items FROM task_batches WHERE id = ?", batch.id, count: 1)[0])
                #expect(!raw.contains("tangerine"))
                let stored = try #require(try JSON.parse(raw).arrayValue)
                Self.expectSealed(stored.map { $0["body"]?.stringValue })
                #expect(stored.first?["task_id"]?.stringValue == "task_1")
                #expect(try await keyed.batch(batch.id) == batch)
                #expect(try await keyed.openBatches() == [batch])
                let moved = try await keyed.transitionBatch(batch.id, from: .submitting, to: .submitted, upstreamID: "up_1", error: nil, now: t)
                #expect(moved?.items == items)
            }
            for other in Self.strangers {
                try await Self.withClient(fixture, cipher: other) { store in
                    let got = try #require(try await store.batch(batch.id))
                    #expect(got.items.map(\.body) == [BodyCipher.unreadable, BodyCipher.unreadable])
                    #expect(got.taskIDs == ["task_1", "task_2"] && got.upstreamID == "up_1")
                }
            }
        }
    }

    /// Review outputs, edited outputs and notes are sealed.
    @Test(arguments: StoreBackend.available)
    func reviewBodiesAreSealed(_ backend: StoreBackend) async throws {
        let cipher = BodyCipher(key: .random())
        try await StoreFixture.with(backend) { fixture in
            let t = storedNow()
            let item = ReviewItem(id: "rev_1", callID: "call_1", purpose: "triage", reason: "always", output: Self.answer, createdAt: t)
            let decision = ReviewDecision(
                status: .edited, editedOutput: "edited: tangerine-42 withheld", actor: "alice", note: "it said tangerine-42",
                at: t.addingTimeInterval(1))
            try await Self.withClient(fixture, cipher: cipher) { keyed in
                try await keyed.addReview(item)
                let decided = try #require(try await keyed.decideReview(item.id, decision))
                #expect(decided.output == Self.answer && decided.editedOutput == decision.editedOutput && decided.note == decision.note)
                Self.expectSealed(
                    try await Self.rawTexts(keyed, "SELECT output, edited_output, note FROM reviews WHERE id = ?", item.id, count: 3))
                #expect(try await keyed.review(item.id) == decided)
                #expect(try await keyed.reviews(status: nil, purpose: nil, limit: 10, before: nil) == [decided])
            }
            for other in Self.strangers {
                try await Self.withClient(fixture, cipher: other) { store in
                    let got = try #require(try await store.review(item.id))
                    #expect(got.output == BodyCipher.unreadable && got.editedOutput == BodyCipher.unreadable)
                    #expect(got.note == BodyCipher.unreadable && got.status == .edited && got.decidedBy == "alice")
                }
            }
        }
    }

    @Test func cipherRoundTripsAndRejectsTampering() throws {
        let cipher = BodyCipher(key: .random())
        let sealed = cipher.seal("héllo ✓")
        #expect(cipher.open(sealed: sealed) == "héllo ✓")
        #expect(BodyCipher.open(sealed, with: cipher) == "héllo ✓")
        #expect(BodyCipher.open("plain", with: cipher) == "plain")
        #expect(BodyCipher.open(sealed, with: nil) == BodyCipher.unreadable)
        #expect(BodyCipher.open("enc:v1:not base64!", with: cipher) == BodyCipher.unreadable)
        var bytes = Array(sealed.utf8)
        bytes[bytes.count - 6] = bytes[bytes.count - 6] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(cipher.open(sealed: String(decoding: bytes, as: UTF8.self)) == nil)

        let binary: [UInt8] = [0, 1, 0xFF, 0x7B]
        let sealedBinary = cipher.seal(bytes: binary)
        #expect(sealedBinary.starts(with: Array(BodyCipher.prefix.utf8)) && sealedBinary != cipher.seal(bytes: binary))
        #expect(BodyCipher.open(sealedBinary, with: cipher) == binary)
        #expect(BodyCipher.open(binary, with: cipher) == binary)
        #expect(BodyCipher.open(sealedBinary, with: nil) == nil)
        #expect(BodyCipher.open(sealedBinary, with: BodyCipher(key: .random())) == nil)
        var tampered = sealedBinary
        tampered[tampered.count - 1] ^= 1
        #expect(cipher.open(sealedBytes: tampered) == nil)
    }

    @Test func keysParseFromBase64AndNeverPrint() throws {
        let key = EncryptionKey.random()
        let parsed = try EncryptionKey.parse(base64: key.base64).get()
        #expect(parsed == key)
        #expect("\(parsed)" == "[redacted]")
        var dumped = ""
        dump(parsed, to: &dumped)
        #expect(!dumped.contains(key.base64))
        guard case .failure(let e) = EncryptionKey.parse(base64: Data(count: 16).base64EncodedString()) else {
            Issue.record("a 16-byte key parsed")
            return
        }
        #expect(e.message.contains("32 bytes") && e.message.contains("openssl rand -base64 32"))
    }
}
