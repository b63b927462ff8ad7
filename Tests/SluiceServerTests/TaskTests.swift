import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// Durable tasks end to end: a row before work, every row reaches an end.
@Suite struct TaskTests {
    static func config(_ upstream: FakeUpstream, tasks: String = "{ workers: 4, timeout_s: 30 }") throws -> String {
        """
        auth:
          admin_key: admin-secret-tasks-1
          keys:
            - { name: app, key: app-secret-tasks-1 }
            - { name: other, key: other-secret-tasks-2 }
        providers:
          up: { type: openai_compatible, base_url: "\(upstream.baseURL)" }
        models:
          fast: { targets: [ { provider: up, model: gpt-4o-mini } ] }
        prompts_dir: "\(try PurposeCacheTests.withTriage())"
        purposes:
          triage: { prompt: triage, model: fast }
        tasks: \(tasks)
        \(noRetry)
        """
    }

    static let app = ["Authorization": "Bearer app-secret-tasks-1"]
    static let other = ["Authorization": "Bearer other-secret-tasks-2"]
    static let admin = ["Authorization": "Bearer admin-secret-tasks-1"]

    func waitFor(_ h: Harness, _ id: String, _ done: (JSON) -> Bool) async throws -> JSON {
        for _ in 0..<200 {
            let t = try await h.request(.GET, "/v1/tasks/\(id)", headers: Self.app)
            if done(t.json) { return t.json }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw HarnessError("task \(id) did not get there")
    }

    @Test func aTaskRunsOnceAndIdempotencyHolds() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("bug"))
        let receiver = try await FakeUpstream.start()
        defer { Task { await receiver.stop() } }
        try await Harness.with(try Self.config(upstream)) { h in
            let body = #"{"purpose":"triage","variables":{"ticket":"login fails"},"idempotency_key":"k-1","webhook_url":"http://127.0.0.1:\#(receiver.port)/hook"}"#
            let created = try await h.request(.POST, "/v1/tasks", body: body, headers: Self.app)
            #expect(created.status == 202, "\(created.text)")
            #expect(created.json["status"] == "queued")
            let id = try #require(created.json["id"]?.stringValue)
            let done = try await waitFor(h, id) { $0["status"] == "succeeded" }
            #expect(done["attempt_count"] == 1)
            #expect(done["result"]?["text"] == "bug")
            #expect(done["call_ids"]?.arrayValue?.count == 1)
            #expect(done["started_at"] != .null && done["finished_at"] != .null)
            #expect(upstream.received.count == 1)

            let again = try await h.request(.POST, "/v1/tasks", body: body, headers: Self.app)
            #expect(again.status == 200)
            #expect(again.json["id"]?.stringValue == id)
            let other = try await h.request(.POST, "/v1/tasks", body: body.replacingOccurrences(of: "login fails", with: "slow page"), headers: Self.app)
            #expect(other.status == 409)
            #expect(other.json["error"]?["code"] == "idempotency_conflict")
            #expect(upstream.received.count == 1)

            // The webhook: the task, signed with the admin key (no tasks.webhook_secret set).
            for _ in 0..<100 where receiver.received.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
            let hook = try #require(receiver.received.first)
            #expect(hook.json?["id"]?.stringValue == id)
            #expect(hook.json?["status"] == "succeeded")
            #expect(hook.headers["x-sluice-signature"] == "sha256=" + Hashing.hmacSHA256Hex(key: "admin-secret-tasks-1", message: hook.body))
            #expect(try await h.gateway.store.webhookAttempts(taskID: id).first?.status == 200)

            let list = try await h.request(.GET, "/v1/tasks?status=succeeded&purpose=triage", headers: Self.app)
            #expect(list.json["data"]?.arrayValue?.map { $0["id"]?.stringValue } == [id])
            let bad = try await h.request(.POST, "/v1/tasks", body: #"{"purpose":"triage"}"#, headers: Self.app)
            #expect(bad.status == 400)
        }
    }

    @Test func aFailedTaskKeepsItsErrorAndRetriesWithTheNextAttempt() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.status(500, message: "upstream is down"))
        try await Harness.with(try Self.config(upstream)) { h in
            let created = try await h.request(
                .POST, "/v1/tasks", body: #"{"purpose":"triage","request":{"model":"fast","messages":[{"role":"user","content":"hi"}]}}"#,
                headers: Self.app)
            let id = try #require(created.json["id"]?.stringValue)
            let failed = try await waitFor(h, id) { $0["status"] == "failed" }
            #expect(failed["error_message"]?.stringValue?.contains("upstream is down") == true, "\(failed)")
            #expect(failed["attempt_count"] == 1)
            upstream.setDefault(.text("fine now"))
            let retried = try await h.request(.POST, "/v1/tasks/\(id)/retry", headers: Self.app)
            #expect(retried.status == 200)
            let done = try await waitFor(h, id) { $0["status"] == "succeeded" }
            #expect(done["attempt_count"] == 2)
            #expect(done["error_message"] == .null)
            #expect(done["call_ids"]?.arrayValue?.count == 2)
            #expect(try await h.request(.POST, "/v1/tasks/\(id)/retry", headers: Self.app).status == 409)
        }
    }

    @Test func queuedTasksCancelAndSilentRunsAreSwept() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let clock = ManualClock()
        // No workers on this node: tasks stay queued until something claims them.
        try await Harness.with(try Self.config(upstream, tasks: "{ workers: 0, timeout_s: 60, max_attempts: 2 }"), clock: clock) { h in
            func create(_ n: Int) async throws -> String {
                let r = try await h.request(.POST, "/v1/tasks", body: #"{"purpose":"triage","variables":{"ticket":"t\#(n)"}}"#, headers: Self.app)
                return try #require(r.json["id"]?.stringValue)
            }
            let a = try await create(1)
            let cancelled = try await h.request(.POST, "/v1/tasks/\(a)/cancel", headers: Self.app)
            #expect(cancelled.json["status"] == "cancelled")
            #expect(try await h.request(.POST, "/v1/tasks/\(a)/cancel", headers: Self.app).status == 409)

            // A worker on a node that then dies: its claim goes silent.
            let b = try await create(2)
            let claimed = try await h.gateway.store.claimTasks(worker: "dead-node", limit: 10, now: clock.now())
            #expect(claimed.map(\.id) == [b])
            clock.advance(30)
            #expect(await h.gateway.taskSweeper.sweep().isEmpty)
            clock.advance(31)
            let requeued = await h.gateway.taskSweeper.sweep()
            #expect(requeued.map(\.status) == [.queued])
            _ = try await h.gateway.store.claimTasks(worker: "dead-node", limit: 10, now: clock.now())
            clock.advance(61)
            let failed = await h.gateway.taskSweeper.sweep()
            #expect(failed.map(\.status) == [.failed])
            let t = try await h.request(.GET, "/v1/tasks/\(b)", headers: Self.app)
            #expect(t.json["status"] == "failed")
            #expect(t.json["attempt_count"] == 2)
            #expect(t.json["error_message"]?.stringValue?.contains("timed out after 60 s") == true)
            // Another key cannot see the task, nor act on it; the admin key can.
            #expect(try await h.request(.GET, "/v1/tasks/\(b)", headers: Self.other).status == 404)
            #expect(try await h.request(.POST, "/v1/tasks/\(b)/retry", headers: Self.other).status == 404)
            let othersList = try await h.request(.GET, "/v1/tasks", headers: Self.other)
            #expect(othersList.status == 200)
            #expect(othersList.json["data"]?.arrayValue?.isEmpty == true, "\(othersList.text)")
            #expect(try await h.request(.GET, "/v1/tasks/\(b)", headers: Self.admin).status == 200)
        }
    }

    @Test func aKeyListsOnlyItsOwnTasksInFullPages() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let clock = ManualClock()
        try await Harness.with(try Self.config(upstream, tasks: "{ workers: 0 }"), clock: clock) { h in
            // Two keys' tasks interleaved, one of each in turn, newest last.
            var mine: [String] = []
            for n in 0..<10 {
                let who = n % 2 == 0 ? Self.app : Self.other
                let r = try await h.request(.POST, "/v1/tasks", body: #"{"purpose":"triage","variables":{"ticket":"t\#(n)"}}"#, headers: who)
                let id = try #require(r.json["id"]?.stringValue)
                if n % 2 == 0 { mine.append(id) }
                clock.advance(0.01)  // ids are time-ordered: keep them apart
            }
            var seen: [String] = []
            var cursor: String?
            var pages: [Int] = []
            repeat {
                let page = try await h.request(.GET, "/v1/tasks?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), headers: Self.app)
                let ids = page.json["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
                pages.append(ids.count)
                seen += ids
                cursor = page.json["next_cursor"]?.stringValue
                #expect(page.json["has_more"] == .bool(cursor != nil), "\(page.text)")
            } while cursor != nil && pages.count < 10
            #expect(pages == [2, 2, 1])
            #expect(seen == mine.reversed())
            let all = try await h.request(.GET, "/v1/tasks?limit=10", headers: Self.admin)
            #expect(all.json["data"]?.arrayValue?.count == 10)
            #expect(all.json["has_more"] == false)
        }
    }
}
