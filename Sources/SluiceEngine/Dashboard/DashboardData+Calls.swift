import Foundation
import SluiceCore
import SluiceStore

extension DashboardData {
    /// The tasks page: tasks per status, the newest queued or running ones, and the newest failures.
    public static func tasks(store: any SluiceStore, now: Date) async throws -> JSON {
        let counts = try await store.taskCounts()
        let failed = try await store.tasks(status: .failed, purpose: nil, limit: 20, before: nil)
        let queued = try await store.tasks(status: .queued, purpose: nil, limit: 10, before: nil)
        let running = try await store.tasks(status: .running, purpose: nil, limit: 10, before: nil)
        var out = header("tasks", now: now)
        let statuses = ["queued", "running", "succeeded", "failed", "cancelled", "needs_review"]
        out["counts"] = .object(JSONObject(statuses.map { ($0, JSON.int(counts[$0] ?? 0)) }))
        out["queue_depth"] = .int((counts["queued"] ?? 0) + (counts["running"] ?? 0))
        out["active"] = .array((running + queued).map(TaskService.json))
        out["failures"] = .array(failed.map(TaskService.json))
        return .object(out)
    }

    /// The calls page: the newest calls matching `filter`, one line each, and the cursor for the next page.
    public static func calls(store: any SluiceStore, filter: CallFilter, now: Date) async throws -> JSON {
        var f = filter
        f.limit = filter.limit + 1
        let rows = try await store.list(f)
        let page = rows.prefix(filter.limit)
        var out = header("calls", now: now)
        out["filter"] = [
            "purpose": filter.purpose.map(JSON.string) ?? .null, "model": filter.model.map(JSON.string) ?? .null,
            "status": filter.status.map(JSON.string) ?? .null, "run_id": filter.runID.map(JSON.string) ?? .null,
        ]
        out["calls"] = .array(page.map { r in
            [
                "call_id": .string(r.callID), "created_at": .string(Timestamp.iso8601(r.createdAt)), "purpose": .string(r.purpose),
                "run_id": r.runID.map(JSON.string) ?? .null, "model": .string(r.answeredModel ?? r.model),
                "provider": r.provider.map(JSON.string) ?? .null, "status": .string(r.status.rawValue), "http_status": .int(r.httpStatus),
                "cache": .string(r.cache), "attempts": .int(r.attempts.count),
                "input_tokens": .int(r.usage.inputTokens), "output_tokens": .int(r.usage.outputTokens),
                "cost_usd": DashNumber.json(r.costUSD, 9), "latency_ms": DashNumber.json(r.latencyMs, 1),
                "error": r.error.map(JSON.string) ?? .null,
            ]
        })
        out["next_cursor"] = rows.count > filter.limit ? page.last.map { .string($0.callID) } ?? .null : .null
        return .object(out)
    }
}
