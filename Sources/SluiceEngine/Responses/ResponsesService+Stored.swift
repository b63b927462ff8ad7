import Foundation
import SluiceCore
import SluiceStore

extension ResponsesService {
    /// The stored response `id` if the caller may see it (its own key's; the admin key any).
    /// Unknown, expired, deleted, another key's and `store: false` responses are all a `404`.
    func stored(_ id: String, identity: Identity) async throws(SluiceError) -> StoredResponse {
        let row: StoredResponse?
        do { row = try await store.response(id) } catch {
            throw SluiceError(.internalError, "The response could not be read from the store: \(error). Retry.")
        }
        guard let row, row.store, row.scope == (identity.keyName ?? "") || identity.isAdmin else {
            throw SluiceError(.notFound, "No response with id '\(id)' for this key (it may have expired or been deleted).", param: "response_id")
        }
        return row
    }

    /// `GET /v1/responses/{id}`: the response as it stands (a background one's status is current).
    public func get(_ id: String, identity: Identity) async throws(SluiceError) -> JSON {
        let row = try await stored(id, identity: identity)
        guard var obj = row.response.flatMap({ try? JSON.parse(Array($0.utf8)) })?.objectValue else {
            throw SluiceError(.internalError, "Response '\(id)' is stored without its body (encrypted with a key this node lacks?).")
        }
        obj["status"] = .string(row.status.rawValue)
        if row.status == .failed, obj["error"] == nil || obj["error"]?.isNull == true {
            obj["error"] = ["code": "server_error", "message": .string(row.error ?? "failed")]
        }
        return .object(obj)
    }

    /// `DELETE /v1/responses/{id}`.
    public func delete(_ id: String, identity: Identity) async throws(SluiceError) -> JSON {
        _ = try await stored(id, identity: identity)
        do { _ = try await store.deleteResponse(id) } catch {
            throw SluiceError(.internalError, "The response could not be deleted: \(error). Retry.")
        }
        return ["id": .string(id), "object": "response.deleted", "deleted": true]
    }

    /// `GET /v1/responses/{id}/input_items`: this turn's input items, `order` `desc` (the
    /// default) or `asc`, `limit` 1…100 (default 20), paged with `after`.
    public func inputItems(
        _ id: String, identity: Identity, order: String?, limit: Int?, after: String?
    ) async throws(SluiceError) -> JSON {
        let row = try await stored(id, identity: identity)
        var items = Self.items(row.inputItems)
        let order = order ?? "desc"
        guard order == "asc" || order == "desc" else { throw SluiceError.invalidRequest("order must be asc or desc; got '\(order)'.", param: "order") }
        let limit = limit ?? 20
        guard (1...100).contains(limit) else { throw SluiceError.invalidRequest("limit must be 1 to 100; got \(limit).", param: "limit") }
        if order == "desc" { items.reverse() }
        if let after {
            guard let i = items.firstIndex(where: { $0["id"]?.stringValue == after }) else {
                throw SluiceError.invalidRequest("No input item '\(after)' in response '\(id)'.", param: "after")
            }
            items = Array(items[(i + 1)...])
        }
        let page = Array(items.prefix(limit))
        return [
            "object": "list", "data": .array(page), "has_more": .bool(items.count > limit),
            "first_id": page.first?["id"] ?? .null, "last_id": page.last?["id"] ?? .null,
        ]
    }

    /// `POST /v1/responses/{id}/cancel`: a background response not yet over becomes `cancelled`
    /// (its task is cancelled too when still queued; a running one is not overwritten when it ends).
    public func cancel(_ id: String, identity: Identity, tasks: TaskService) async throws(SluiceError) -> JSON {
        let row = try await stored(id, identity: identity)
        guard row.taskID != nil else {
            throw SluiceError.invalidRequest("Only background responses can be cancelled; '\(id)' was created with background: false.")
        }
        if !row.status.isTerminal {
            do {
                _ = try await store.updateResponseStatus(id, status: .cancelled, error: nil, now: clock.now(), onlyFrom: [.queued, .inProgress])
            } catch {
                throw SluiceError(.internalError, "The response could not be cancelled: \(error). Retry.")
            }
            if let task = row.taskID { _ = try? await tasks.cancel(task, identity: Identity(keyName: nil, purposes: ["*"], isAdmin: true)) }
        }
        return try await get(id, identity: identity)
    }
}
