import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// `sluice tasks list|show|retry`, each with `--json`, run as the real binary against a store seeded here.
@Suite struct TaskCLITests {
    /// The JSON object the command printed (the last line that parses).
    func json(_ out: String) -> JSON {
        for line in out.split(separator: "\n").reversed() where line.hasPrefix("{") {
            if let j = try? JSON.parse(String(line)) { return j }
        }
        return .null
    }

    /// A failed task with a recorded webhook attempt, a cancelled one and a queued one.
    func seed(_ dir: String) async throws -> (failed: String, cancelled: String, queued: String) {
        let store = try SQLiteStore(path: dir + "/sluice.db")
        try await store.migrate()
        let now = Date(timeIntervalSince1970: 1_750_000_000)
        func task(_ i: Int, webhook: String? = nil) -> TaskRecord {
            TaskRecord(
                id: IDs.make("task", at: now.addingTimeInterval(Double(i))), purpose: "triage", idempotencyKey: nil,
                requestHash: "h\(i)", request: #"{"purpose":"triage","variables":{"ticket":"t"}}"#, keyName: "app",
                webhookURL: webhook, maxAttempts: 3, createdAt: now.addingTimeInterval(Double(i)))
        }
        let failed = task(0, webhook: "http://127.0.0.1:9/hook")
        let cancelled = task(1)
        let queued = task(2)
        for t in [failed, cancelled, queued] { _ = try await store.createTask(t) }
        _ = try await store.claimTasks(worker: "cli-test", limit: 1, now: now)
        _ = try await store.finishTask(failed.id, worker: "cli-test", attempt: 1, status: .failed, result: nil, error: "upstream_error: down", now: now)
        try await store.recordWebhookAttempt(WebhookAttempt(taskID: failed.id, attempt: 1, at: now, status: 500, error: "HTTP 500"))
        _ = try await store.cancelTask(cancelled.id, now: now)
        try await store.close()
        return (failed.id, cancelled.id, queued.id)
    }

    @Test func listShowAndRetryEachTakeJSON() async throws {
        let dir = try makeTempDir()
        let config = dir + "/sluice.yaml"
        try "storage: { url: \"sqlite://\(dir)/sluice.db\" }\n".write(toFile: config, atomically: true, encoding: .utf8)
        let ids = try await seed(dir)
        func sluice(_ args: String...) async throws -> (Int32, String) {
            try await SluiceProcess.run(["tasks"] + args + ["--config", config], directory: dir)
        }

        // show: a readable view, and with --json the task as GET /v1/tasks/{id} answers it.
        var (status, out) = try await sluice("show", ids.failed)
        #expect(status == 0, "\(out)")
        #expect(out.contains("status") && out.contains("failed") && out.contains("upstream_error: down"), "\(out)")
        #expect(out.contains("webhook #1") && out.contains("HTTP 500"), "\(out)")
        (status, out) = try await sluice("show", ids.failed, "--json")
        #expect(status == 0, "\(out)")
        let shown = json(out)
        #expect(shown["id"]?.stringValue == ids.failed, "\(out)")
        #expect(shown["status"] == "failed")
        #expect(shown["attempt_count"] == 1)
        #expect(shown["error_message"] == "upstream_error: down")
        #expect(shown["webhook_deliveries"]?.arrayValue?.map { $0["status"] } == [500])
        (status, out) = try await sluice("show", "task_missing", "--json")
        #expect(status == 1 && out.contains("no task with id 'task_missing'"), "\(out)")

        // retry: a failed task goes back to the queue; --json prints it.
        (status, out) = try await sluice("retry", ids.failed)
        #expect(status == 0, "\(out)")
        #expect(out.contains("task \(ids.failed) queued again (attempt 2 next)"), "\(out)")
        (status, out) = try await sluice("retry", ids.cancelled, "--json")
        #expect(status == 0, "\(out)")
        let retried = json(out)
        #expect(retried["id"]?.stringValue == ids.cancelled, "\(out)")
        #expect(retried["status"] == "queued")
        #expect(retried["finished_at"] == .null)
        (status, out) = try await sluice("retry", ids.queued, "--json")
        #expect(status == 1 && out.contains("only failed, cancelled or needs_review"), "\(out)")

        // list --json: all three are queued now, newest first.
        (status, out) = try await sluice("list", "--status", "queued", "--json")
        #expect(status == 0, "\(out)")
        #expect(json(out)["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [ids.queued, ids.cancelled, ids.failed], "\(out)")
        (status, out) = try await sluice("list")
        #expect(status == 0 && out.contains("ID") && out.contains(ids.queued), "\(out)")
    }
}
