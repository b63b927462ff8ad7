import Foundation
import Hummingbird
import SluiceCore
import SluiceEngine
import SluiceStore

/// The human review queue: `GET /admin/reviews`, `GET|POST /admin/reviews/{id}`.
struct AdminReviewRoutes {
    let gateway: Gateway

    func register(on router: Router<SluiceRequestContext>) {
        router.get("/admin/reviews") { request, context in try await self.list(request, context) }
        router.get("/admin/reviews/:id") { request, context in try await self.get(request, context) }
        router.post("/admin/reviews/:id") { request, context in try await self.decide(request, context) }
    }

    func admin(_ request: Request, _ context: SluiceRequestContext) throws -> String {
        _ = try context.caller()
        let actor = request.headers[HTTPEdge.actor]?.trimmingCharacters(in: .whitespaces) ?? ""
        return actor.isEmpty ? "admin" : String(actor.prefix(100))
    }

    /// `?status=pending|approved|rejected|edited&purpose=&limit=&cursor=`, newest first.
    func list(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        _ = try admin(request, context)
        let q = request.uri.queryParameters
        var status: ReviewItem.Status?
        if let s = q.get("status") {
            guard let parsed = ReviewItem.Status(rawValue: String(s)) else {
                throw SluiceError.invalidRequest("status must be pending, approved, rejected or edited; got '\(s)'.", param: "status")
            }
            status = parsed
        }
        let limit = q.get("limit").flatMap { Int(String($0)) } ?? 50
        guard (1...1000).contains(limit) else { throw SluiceError.invalidRequest("limit must be 1…1000.", param: "limit") }
        let rows = try await gateway.store.reviews(
            status: status, purpose: q.get("purpose").map { String($0) }, limit: limit + 1, before: q.get("cursor").map { String($0) })
        let items = Array(rows.prefix(limit))
        return HTTPEdge.json(200, [
            "object": "list", "data": .array(items.map(Self.json)), "has_more": .bool(rows.count > limit),
            "next_cursor": rows.count > limit ? .string(items.last!.id) : .null,
        ])
    }

    func get(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        _ = try admin(request, context)
        let id = try context.parameters.require("id")
        guard let item = try await gateway.store.review(id) else { throw SluiceError(.notFound, "No review item with id '\(id)'.") }
        return HTTPEdge.json(200, Self.json(item))
    }

    /// `{"action": "approve"|"reject"|"edit", "output": "…" (edit), "note": "…"}`. The first decision wins.
    func decide(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        let actor = try admin(request, context)
        let id = try context.parameters.require("id")
        let buffer = try await request.body.collect(upTo: 1 << 20)
        guard let body = (try? JSON.parse(Array(buffer.readableBytesView)))?.objectValue else {
            throw SluiceError.invalidRequest(#"The body must be a JSON object such as {"action": "approve", "note": "looks right"}."#)
        }
        let status: ReviewItem.Status
        switch body["action"]?.stringValue {
        case "approve": status = .approved
        case "reject": status = .rejected
        case "edit": status = .edited
        default: throw SluiceError.invalidRequest("action must be approve, reject or edit.", param: "action")
        }
        let edited = body["output"]?.stringValue
        if status == .edited && edited == nil {
            throw SluiceError.invalidRequest("edit needs the corrected output as a string in 'output'.", param: "output")
        }
        let now = Date()
        let decision = ReviewDecision(status: status, editedOutput: edited, actor: actor, note: body["note"]?.stringValue, at: now)
        guard let item = try await gateway.store.decideReview(id, decision) else {
            throw SluiceError(.notFound, "No review item with id '\(id)'.")
        }
        guard item.status == status, item.decidedBy == actor, item.decidedAt.map({ abs($0.timeIntervalSince(now)) < 1 }) == true else {
            throw SluiceError(
                .idempotencyConflict,
                "Review '\(id)' was already decided: \(item.status.rawValue) by \(item.decidedBy ?? "?") at \(item.decidedAt.map(Timestamp.iso8601) ?? "?").")
        }
        try? await gateway.store.appendAudit(AuditEntry(
            id: IDs.make("aud", at: now), at: now, actor: actor, action: "review.\(status.rawValue)", target: "review:\(id)",
            reason: decision.note, oldValue: "pending", newValue: status.rawValue))
        return HTTPEdge.json(200, Self.json(item))
    }

    static func json(_ r: ReviewItem) -> JSON {
        func s(_ v: String?) -> JSON { v.map(JSON.string) ?? .null }
        return [
            "id": .string(r.id), "call_id": .string(r.callID), "task_id": s(r.taskID), "purpose": .string(r.purpose),
            "reason": .string(r.reason), "status": .string(r.status.rawValue), "output": .string(r.output),
            "edited_output": s(r.editedOutput), "created_at": .string(Timestamp.iso8601(r.createdAt)),
            "decided_at": s(r.decidedAt.map(Timestamp.iso8601)), "decided_by": s(r.decidedBy), "note": s(r.note),
        ]
    }
}
