import Foundation
import SluiceCore
import SluiceEngine
import SluiceStore
import SluiceTesting
import Testing

/// Task webhooks: retried with backoff, every attempt recorded and shown, signed, and
/// delivered in the background so that neither a cancel nor a worker slot waits on the receiver.
@Suite struct TaskWebhookTests {
    /// A receiver answer that takes `ms` before its 200.
    static func slow(_ ms: Int) -> FakeUpstream.Reply {
        var r = FakeUpstream.Reply.raw("{}")
        r.delayMs = ms
        return r
    }

    func waitForDeliveries(_ h: Harness, _ id: String, count: Int) async throws -> [JSON] {
        for _ in 0..<200 {
            let t = try await h.request(.GET, "/v1/tasks/\(id)", headers: TaskTests.app)
            if let d = t.json["webhook_deliveries"]?.arrayValue, d.count >= count { return d }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw HarnessError("task \(id) did not get \(count) webhook deliveries")
    }

    @Test func aFailingReceiverIsRetriedWithBackoffAndEveryAttemptIsRecorded() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("done"))
        let receiver = try await FakeUpstream.start()
        defer { Task { await receiver.stop() } }
        receiver.enqueue(.status(500), .status(503))
        receiver.setDefault(.raw("{}"))
        let secret = "hook-secret-9f3k"
        let config = try TaskTests.config(upstream, tasks: "{ workers: 2, timeout_s: 30, webhook_secret: \(secret) }")
        try await Harness.with(config) { h in
            let waits = Locked<[Duration]>([])
            h.gateway.taskWebhooks.setPause { d in waits.withLock { $0.append(d) } }
            let created = try await h.request(
                .POST, "/v1/tasks", body: #"{"purpose":"triage","variables":{"ticket":"x"},"webhook_url":"http://127.0.0.1:\#(receiver.port)/hook"}"#,
                headers: TaskTests.app)
            let id = try #require(created.json["id"]?.stringValue)
            let deliveries = try await waitForDeliveries(h, id, count: 3)
            #expect(deliveries.map { $0["attempt"] } == [1, 2, 3])
            #expect(deliveries.map { $0["status"] } == [500, 503, 200])
            #expect(deliveries.map { $0["error"] } == ["HTTP 500", "HTTP 503", JSON.null])
            #expect(deliveries.allSatisfy { $0["at"]?.stringValue != nil })
            #expect(waits.value == TaskWebhooks.backoff)
            #expect(waits.value == [.milliseconds(500), .seconds(1)])

            // Three posts of the same final task, each signed with tasks.webhook_secret (not the admin key).
            await h.gateway.taskWebhooks.idle()
            let posts = receiver.received
            #expect(posts.count == 3)
            for post in posts {
                #expect(post.path == "/hook")
                #expect(post.json?["id"]?.stringValue == id)
                #expect(post.json?["status"] == "succeeded")
                #expect(post.body == posts[0].body)
                #expect(post.headers["x-sluice-signature"] == "sha256=" + Hashing.hmacSHA256Hex(key: secret, message: post.body))
                #expect(post.headers["x-sluice-signature"] != "sha256=" + Hashing.hmacSHA256Hex(key: "admin-secret-tasks-1", message: post.body))
            }
            let stored = try await h.gateway.store.webhookAttempts(taskID: id)
            #expect(stored.map(\.status) == [500, 503, 200])
            // The webhook body is the task itself, without the delivery log.
            #expect(posts[0].json?["webhook_deliveries"] == nil)
        }
    }

    @Test func aReceiverThatNeverAnswersIsGivenUpAfterThreeTries() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let receiver = try await FakeUpstream.start()
        defer { Task { await receiver.stop() } }
        receiver.setDefault(.status(502))
        let clock = ManualClock()
        try await Harness.with(try TaskTests.config(upstream, tasks: "{ workers: 0 }"), clock: clock) { h in
            h.gateway.taskWebhooks.setPause { _ in clock.advance(1) }
            let created = try await h.request(
                .POST, "/v1/tasks", body: #"{"purpose":"triage","variables":{"ticket":"x"},"webhook_url":"http://127.0.0.1:\#(receiver.port)/h"}"#,
                headers: TaskTests.app)
            let id = try #require(created.json["id"]?.stringValue)
            #expect(try await h.request(.POST, "/v1/tasks/\(id)/cancel", headers: TaskTests.app).status == 200)
            let first = try await waitForDeliveries(h, id, count: 3)
            await h.gateway.taskWebhooks.idle()
            #expect(receiver.requestCount == 3)
            #expect(first.map { $0["error"] } == ["HTTP 502", "HTTP 502", "HTTP 502"])
            // Recorded at the injected clock's time, one backoff apart.
            let times = try await h.gateway.store.webhookAttempts(taskID: id).map(\.at)
            #expect(times == [-2.0, -1, 0].map { clock.now().addingTimeInterval($0) })
            #expect(h.logs.text.contains("task webhook failed after 3 tries"))

            // A retried task that ends again is delivered again; its attempts continue the numbering.
            receiver.setDefault(.raw("{}"))
            #expect(try await h.request(.POST, "/v1/tasks/\(id)/retry", headers: TaskTests.app).status == 200)
            #expect(try await h.request(.POST, "/v1/tasks/\(id)/cancel", headers: TaskTests.app).status == 200)
            let all = try await waitForDeliveries(h, id, count: 4)
            #expect(all.map { $0["attempt"] } == [1, 2, 3, 4])
            #expect(all.last?["status"] == 200)
        }
    }

    @Test func aWorkerSlotIsFreeWhileItsTaskIsDelivered() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let receiver = try await FakeUpstream.start()
        defer { Task { await receiver.stop() } }
        receiver.setDefault(Self.slow(3000))
        // One worker: a slot held during the delivery would keep the second task queued until the receiver answers.
        try await Harness.with(try TaskTests.config(upstream, tasks: "{ workers: 1, timeout_s: 30 }")) { h in
            let a = try await h.request(
                .POST, "/v1/tasks", body: #"{"purpose":"triage","variables":{"ticket":"a"},"webhook_url":"http://127.0.0.1:\#(receiver.port)/slow"}"#,
                headers: TaskTests.app)
            let aID = try #require(a.json["id"]?.stringValue)
            for _ in 0..<200 where receiver.requestCount == 0 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(receiver.requestCount == 1)
            let b = try await h.request(.POST, "/v1/tasks", body: #"{"purpose":"triage","variables":{"ticket":"b"}}"#, headers: TaskTests.app)
            let bID = try #require(b.json["id"]?.stringValue)
            _ = try await TaskTests().waitFor(h, bID) { $0["status"] == "succeeded" }
            // B ran and ended while A's webhook was still on its way.
            #expect(try await h.gateway.store.webhookAttempts(taskID: aID).isEmpty)
            #expect(h.gateway.taskWebhooks.inFlight == 1)
            await h.gateway.taskWebhooks.idle()
            #expect(try await h.gateway.store.webhookAttempts(taskID: aID).map(\.status) == [200])
        }
    }

    @Test func cancelAnswersAtOnceWithASlowReceiverAndShutdownDrainsTheDelivery() async throws {
        try await exclusively {
            let upstream = try await FakeUpstream.start()
            defer { Task { await upstream.stop() } }
            let receiver = try await FakeUpstream.start()
            defer { Task { await receiver.stop() } }
            receiver.setDefault(Self.slow(3000))
            var dbPath = ""
            var id = ""
            try await Harness.with(try TaskTests.config(upstream, tasks: "{ workers: 0 }")) { h in
                dbPath = h.dbPath
                let created = try await h.request(
                    .POST, "/v1/tasks", body: #"{"purpose":"triage","variables":{"ticket":"c"},"webhook_url":"http://127.0.0.1:\#(receiver.port)/slow"}"#,
                    headers: TaskTests.app)
                id = try #require(created.json["id"]?.stringValue)
                let start = ContinuousClock.now
                let cancelled = try await h.request(.POST, "/v1/tasks/\(id)/cancel", headers: TaskTests.app)
                let took = ContinuousClock.now - start
                #expect(cancelled.status == 200)
                #expect(cancelled.json["status"] == "cancelled")
                // Far under the receiver's 3 s even on a loaded machine: the cancel does not wait for the delivery.
                #expect(took < .seconds(2), "cancel took \(took) with a receiver that answers in 3 s")
                #expect(try await h.gateway.store.webhookAttempts(taskID: id).isEmpty)
                #expect(h.gateway.taskWebhooks.inFlight == 1)
                // The body ends here: the graceful shutdown starts with the delivery in flight.
            }
            // The shutdown waited for it: the attempt is recorded.
            let store = try SQLiteStore(path: dbPath, cipher: nil)
            try await store.migrate()
            #expect(try await store.webhookAttempts(taskID: id).map(\.status) == [200])
            #expect(receiver.received.first?.json?["status"] == "cancelled")
            try await store.close()
        }
    }

    @Test func withoutASecretOrAdminKeyWebhooksAreUnsignedAndCheckConfigWarns() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let receiver = try await FakeUpstream.start()
        defer { Task { await receiver.stop() } }
        let yaml = """
            auth:
              keys:
                - { name: app, key: app-secret-tasks-1 }
            providers:
              up: { type: openai_compatible, base_url: "\(upstream.baseURL)" }
            models:
              fast: { targets: [ { provider: up, model: gpt-4o-mini } ] }
            tasks: { workers: 0 }
            """
        let warnings = try ConfigLoader.parse(yaml, environment: [:]).warnings
        #expect(warnings.contains { $0.contains("task webhooks are sent without an X-Sluice-Signature header") }, "\(warnings)")
        #expect(try !ConfigLoader.parse(yaml.replacingOccurrences(of: "{ workers: 0 }", with: "{ workers: 0, webhook_secret: s }"), environment: [:])
            .warnings.contains { $0.contains("X-Sluice-Signature") })
        try await Harness.with(yaml) { h in
            let created = try await h.request(
                .POST, "/v1/tasks", body: #"{"purpose":"triage","request":{"model":"fast","messages":[{"role":"user","content":"hi"}]},"webhook_url":"http://127.0.0.1:\#(receiver.port)/u"}"#,
                headers: TaskTests.app)
            let id = try #require(created.json["id"]?.stringValue, "\(created.text)")
            #expect(try await h.request(.POST, "/v1/tasks/\(id)/cancel", headers: TaskTests.app).status == 200)
            _ = try await waitForDeliveries(h, id, count: 1)
            let post = try #require(receiver.received.first)
            #expect(post.json?["status"] == "cancelled")
            #expect(post.headers["x-sluice-signature"] == nil)
        }
    }
}
