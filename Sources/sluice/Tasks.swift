import ArgumentParser
import Foundation
import SluiceCore
import SluiceEngine
import SluiceStore

struct Tasks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Durable tasks in the store: list, show, retry.", subcommands: [List.self, Show.self, Retry.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tasks, newest first.")
        @OptionGroup var options: ConfigOption
        @Option(help: "Only this status (queued, running, succeeded, failed, needs_review, cancelled).") var status: String?
        @Option(help: "Only this purpose.") var purpose: String?
        @Option(help: "How many (1-1000).") var limit = 20
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            var st: TaskRecord.Status?
            if let status {
                guard let s = TaskRecord.Status(rawValue: status) else {
                    throw ValidationError("--status must be one of \(TaskRecord.Status.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                st = s
            }
            guard (1...1000).contains(limit) else { throw ValidationError("--limit must be from 1 to 1000") }
            let store = try await openStore(try loadConfigOrExit(options.config), logger: .init(label: "sluice"))
            let rows = try await store.tasks(status: st, purpose: purpose, limit: limit, before: nil)
            try await store.close()
            if json {
                print(JSON.object(["object": "list", "data": .array(rows.map(TaskService.json))]).jsonString)
                return
            }
            var table = [["ID", "PURPOSE", "STATUS", "ATTEMPTS", "CREATED", "ERROR"]]
            for t in rows {
                table.append([
                    t.id, t.purpose, t.status.rawValue, "\(t.attemptCount)/\(t.maxAttempts)", Timestamp.iso8601(t.createdAt),
                    String((t.errorMessage ?? "").prefix(60)),
                ])
            }
            print(rows.isEmpty ? "(no tasks)" : Costs.table(table), terminator: "")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one task: its fields, result and webhook deliveries.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The task id.") var id: String
        @Flag(help: "Print JSON (the task as GET /v1/tasks/{id} answers it).") var json = false

        func run() async throws {
            let store = try await openStore(try loadConfigOrExit(options.config), logger: .init(label: "sluice"))
            let task = try await store.task(id)
            let deliveries = task == nil ? [] : try await store.webhookAttempts(taskID: id)
            try await store.close()
            guard let task else {
                FileHandle.standardError.write(Data("sluice: no task with id '\(id)'\n".utf8))
                throw ExitCode(1)
            }
            print(json ? TaskService.json(task, deliveries: deliveries).jsonString : Tasks.describe(task, deliveries: deliveries), terminator: json ? "\n" : "")
        }
    }

    /// One task as aligned `field  value` lines, its webhook deliveries included.
    static func describe(_ t: TaskRecord, deliveries: [WebhookAttempt]) -> String {
        func d(_ v: Date?) -> String { v.map(Timestamp.iso8601) ?? "-" }
        var rows: [(String, String)] = [
            ("id", t.id), ("purpose", t.purpose), ("status", t.status.rawValue), ("attempts", "\(t.attemptCount)/\(t.maxAttempts)"),
            ("created_at", d(t.createdAt)), ("started_at", d(t.startedAt)), ("finished_at", d(t.finishedAt)),
            ("heartbeat_at", d(t.heartbeatAt)), ("idempotency_key", t.idempotencyKey ?? "-"), ("key", t.keyName ?? "-"),
            ("call_ids", t.callIDs.isEmpty ? "-" : t.callIDs.joined(separator: ", ")), ("webhook_url", t.webhookURL ?? "-"),
        ]
        for w in deliveries {
            rows.append(("webhook #\(w.attempt)", "\(Timestamp.iso8601(w.at)) \(w.status.map(String.init) ?? "no answer")\(w.error.map { " (\($0))" } ?? "")"))
        }
        if let e = t.errorMessage { rows.append(("error", e)) }
        if let r = t.result { rows.append(("result", r)) }
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 + "\n" }.joined()
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put a failed, cancelled or needs_review task back in the queue.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The task id.") var id: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let store = try await openStore(try loadConfigOrExit(options.config), logger: .init(label: "sluice"))
            let before = try await store.task(id)
            guard let before else {
                try await store.close()
                FileHandle.standardError.write(Data("sluice: no task with id '\(id)'\n".utf8))
                throw ExitCode(1)
            }
            guard [.failed, .cancelled, .needsReview].contains(before.status) else {
                try await store.close()
                FileHandle.standardError.write(Data("sluice: task \(id) is \(before.status.rawValue); only failed, cancelled or needs_review tasks can be retried\n".utf8))
                throw ExitCode(1)
            }
            let after = try await store.retryTask(id, now: Date())
            try await store.close()
            guard let after else {
                FileHandle.standardError.write(Data("sluice: no task with id '\(id)'\n".utf8))
                throw ExitCode(1)
            }
            if json { print(TaskService.json(after).jsonString) } else { print("task \(id) queued again (attempt \(before.attemptCount + 1) next)") }
        }
    }
}
