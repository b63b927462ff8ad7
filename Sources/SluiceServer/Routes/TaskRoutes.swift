import Foundation
import Hummingbird
import SluiceCore
import SluiceEngine
import SluiceStore

/// `POST /v1/tasks`, `GET /v1/tasks`, `GET /v1/tasks/{id}`, `POST /v1/tasks/{id}/retry|cancel`.
struct TaskRoutes {
    let chat: ChatRoutes
    var gateway: Gateway { chat.gateway }

    func register(on router: Router<SluiceRequestContext>) {
        router.post("/v1/tasks") { request, context in try await self.create(request, context) }
        router.get("/v1/tasks") { request, context in try await self.list(request, context) }
        router.get("/v1/tasks/:id") { request, context in try await self.get(request, context) }
        router.post("/v1/tasks/:id/retry") { request, context in try await self.retry(request, context) }
        router.post("/v1/tasks/:id/cancel") { request, context in try await self.cancel(request, context) }
    }

    /// The caller: the admin key sees every task, a data key its own (``IdentityMiddleware``).
    func identity(_ request: Request, _ context: SluiceRequestContext) throws -> Identity {
        try context.caller()
    }

    /// 202 and the new task; 200 and the existing task for a repeated idempotency key.
    func create(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        let (identity, body) = try await chat.admit(request, context)
        let (task, created) = try await gateway.tasks.create(body: body, identity: identity)
        return HTTPEdge.json(created ? 202 : 200, TaskService.json(task))
    }

    /// The task with its `webhook_deliveries`.
    func get(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        let task = try await gateway.tasks.get(try context.parameters.require("id"), identity: try identity(request, context))
        return HTTPEdge.json(200, TaskService.json(task, deliveries: try await gateway.store.webhookAttempts(taskID: task.id)))
    }

    /// `?status=&purpose=&limit=&cursor=`, newest first; a key sees its own tasks, the admin key all.
    func list(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        let who = try identity(request, context)
        let q = request.uri.queryParameters
        var status: TaskRecord.Status?
        if let s = q.get("status") {
            guard let parsed = TaskRecord.Status(rawValue: String(s)) else {
                throw SluiceError.invalidRequest(
                    "status must be one of \(TaskRecord.Status.allCases.map(\.rawValue).joined(separator: ", ")); got '\(s)'.", param: "status")
            }
            status = parsed
        }
        let limit = q.get("limit").flatMap { Int(String($0)) } ?? 50
        guard (1...1000).contains(limit) else { throw SluiceError.invalidRequest("limit must be 1…1000.", param: "limit") }
        // A key's own tasks are filtered in the query, so its pages are full and `has_more` is right.
        let rows = try await gateway.store.tasks(
            status: status, purpose: q.get("purpose").map { String($0) }, keyName: who.isAdmin ? nil : who.keyName ?? "",
            limit: limit + 1, before: q.get("cursor").map { String($0) })
        let items = Array(rows.prefix(limit))
        return HTTPEdge.json(200, [
            "object": "list", "data": .array(items.map(TaskService.json)), "has_more": .bool(rows.count > limit),
            "next_cursor": rows.count > limit ? .string(items.last!.id) : .null,
        ])
    }

    func retry(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        let task = try await gateway.tasks.retry(try context.parameters.require("id"), identity: try identity(request, context))
        return HTTPEdge.json(200, TaskService.json(task))
    }

    func cancel(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        let task = try await gateway.tasks.cancel(try context.parameters.require("id"), identity: try identity(request, context))
        return HTTPEdge.json(200, TaskService.json(task))
    }
}
