import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// `storage.encryption_key` end to end: the admin API shows bodies, the database file does not.
@Suite struct EncryptionTests {
    @Test func adminShowsBodiesWhileTheFileHoldsCiphertext() async throws {
        let key = EncryptionKey.random()
        let yaml = "storage: { url: \"sqlite://{DB}\", encryption_key: \"${SLUICE_TEST_KEY}\" }"
        try await Harness.with(yaml, env: ["SLUICE_TEST_KEY": key.base64]) { h in
            let prompt = "the vault combination is marmalade-7731"
            let r = try await h.chat(#"{"model":"sim-small","messages":[{"role":"user","content":"\#(prompt)"}]}"#)
            let id = try #require(r.header("X-Sluice-Call-Id"))
            let rec = try await h.record(id)
            let output = try #require(rec.output)
            #expect(!output.hasPrefix(BodyCipher.prefix) && output != BodyCipher.unreadable)

            let one = try await h.request(.GET, "/admin/calls/\(id)")
            #expect(one.status == 200)
            #expect(one.json["request"]?["messages"]?.arrayValue?.first?["content"]?.stringValue == prompt)
            #expect(one.json["output"]?.stringValue == output)

            let file = try Self.databaseBytes(h.dbPath)
            #expect(file.range(of: Data("marmalade-7731".utf8)) == nil)
            if output.count >= 16 { #expect(file.range(of: Data(output.utf8)) == nil) }
            #expect(file.range(of: Data(BodyCipher.prefix.utf8)) != nil)
            #expect(!h.logs.all.contains { $0.contains(key.base64) })
        }
    }

    /// A cached (semantic) purpose call replayed by `Idempotency-Key`, a task and a reviewed output:
    /// every table they write holds ciphertext, and neither the prompt nor the answer is anywhere in the file.
    @Test func cacheIdempotencyTasksAndReviewsKeepNoPlaintextInTheFile() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("the answer is quince-9090"))
        let key = EncryptionKey.random()
        let yaml = """
            storage: { url: "sqlite://{DB}", encryption_key: "${SLUICE_TEST_KEY}" }
            providers:
              up: { type: openai_compatible, base_url: "\(upstream.baseURL)" }
              sim: { type: simulated }
            models:
              fast: { targets: [ { provider: up, model: gpt-4o-mini } ] }
              embed: { targets: [ { provider: sim, model: sim-embed } ] }
            purposes:
              faq: { model: fast, cache: { ttl: 1h, semantic: true, threshold: 0.9, embedding_model: embed } }
              checked: { model: fast, review: { when: always } }
            tasks: { workers: 1, timeout_s: 30 }
            \(noRetry)
            """
        try await Harness.with(yaml, env: ["SLUICE_TEST_KEY": key.base64]) { h in
            let chat = #"{"model":"fast","messages":[{"role":"user","content":"the vault combination is marmalade-7731"}]}"#
            let first = try await h.chat(chat, headers: ["X-Sluice-Purpose": "faq", "Idempotency-Key": "idem-1"])
            #expect(first.status == 200, "\(first.text)")
            #expect(first.text.contains("quince-9090"))
            let replay = try await h.chat(chat, headers: ["X-Sluice-Purpose": "faq", "Idempotency-Key": "idem-1"])
            #expect(replay.header("Idempotent-Replayed") == "true" && replay.body == first.body)
            await h.gateway.cache.flush()
            #expect(try await h.gateway.store.cacheSizes()["faq"]?.entries == 1)

            let reviewed = try await h.chat(chat, headers: ["X-Sluice-Purpose": "checked"])
            #expect(reviewed.status < 500, "\(reviewed.text)")
            let queue = try await h.gateway.store.reviews(status: nil, purpose: "checked", limit: 10, before: nil)
            #expect(queue.first?.output.contains("quince-9090") == true)

            let created = try await h.request(.POST, "/v1/tasks", body: #"{"purpose":"faq","request":\#(chat)}"#)
            #expect(created.status == 202, "\(created.text)")
            let id = try #require(created.json["id"]?.stringValue)
            var task = JSON.null
            for _ in 0..<200 {
                task = try await h.request(.GET, "/v1/tasks/\(id)").json
                if task["status"] == "succeeded" { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(task["status"] == "succeeded", "\(task)")
            #expect(task["result"]?.jsonString.contains("quince-9090") == true)
            let stored = try #require(try await h.gateway.store.task(id))
            #expect(stored.request.contains("marmalade-7731"))
            await h.gateway.callLog.flush()

            let file = try Self.databaseBytes(h.dbPath)
            #expect(file.range(of: Data("marmalade-7731".utf8)) == nil)
            #expect(file.range(of: Data("quince-9090".utf8)) == nil)
            #expect(file.range(of: Data(BodyCipher.prefix.utf8)) != nil)
        }
    }

    /// A node without the key that wrote a task and an idempotent response neither runs the task's
    /// request nor replays the placeholder: the task fails saying why, the replay is a 409.
    @Test func aNodeWithoutTheKeyNeitherRunsNorReplaysSealedBodies() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("fresh answer"))
        try await Harness.with(upstreamConfig(upstream, extra: "tasks: { workers: 1, timeout_s: 30 }")) { h in
            let writer = try SQLiteStore(path: h.dbPath, cipher: BodyCipher(key: .random()))
            let now = Date()
            let canonical = try JSON.parse(simpleChat).canonicalBytes
            let hash = Hashing.sha256Hex(Array("/v1/chat/completions".utf8) + [0x0A] + canonical)
            _ = try await writer.claimIdempotency(
                scope: "", key: "idem-sealed", requestHash: hash, now: now, expiredBefore: now.addingTimeInterval(-86_400),
                abandonedBefore: now.addingTimeInterval(-600))
            try await writer.completeIdempotency(
                scope: "", key: "idem-sealed", claimedAt: now, status: 200, headers: "[]", body: #"{"sealed":true}"#, now: now)
            let task = TaskRecord(
                id: IDs.make("task", at: now), purpose: "default", idempotencyKey: nil, requestHash: "h",
                request: #"{"request":\#(simpleChat)}"#, keyName: nil, webhookURL: nil, maxAttempts: 1, createdAt: now)
            _ = try await writer.createTask(task)
            try await writer.close()

            let replay = try await h.chat(simpleChat, headers: ["Idempotency-Key": "idem-sealed"])
            #expect(replay.status == 409, "\(replay.text)")
            #expect(replay.json["error"]?["code"] == "idempotency_conflict")
            #expect(replay.json["error"]?["message"]?.stringValue?.contains("storage.encryption_key") == true)
            #expect(!replay.text.contains(BodyCipher.unreadable))

            var got = JSON.null
            for _ in 0..<200 {
                got = try await h.request(.GET, "/v1/tasks/\(task.id)").json
                if got["status"] == "failed" { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(got["status"] == "failed", "\(got)")
            #expect(got["error_message"]?.stringValue?.contains("storage.encryption_key") == true)
            #expect(upstream.requestCount == 0)
        }
    }

    /// The database file and its write-ahead log, where fresh rows live until a checkpoint.
    static func databaseBytes(_ path: String) throws -> Data {
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        if let wal = try? Data(contentsOf: URL(fileURLWithPath: path + "-wal")) { data += wal }
        return data
    }
}
