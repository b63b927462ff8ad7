import Foundation
import Hummingbird
import SluiceCore
import SluiceEngine
import SluiceStore

/// `GET /admin/calls` and `GET /admin/calls/{id}`.
struct AdminCallsRoutes {
    let gateway: Gateway

    func register(on router: Router<SluiceRequestContext>) {
        router.get("/admin/calls") { request, context in try await self.list(request, context) }
        router.get("/admin/calls/:id") { request, context in try await self.get(request, context) }
    }

    func list(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        _ = try context.caller()
        let q = request.uri.queryParameters
        var filter = CallFilter()
        filter.purpose = q["purpose"].map(String.init)
        filter.model = q["model"].map(String.init)
        filter.status = q["status"].map(String.init)
        filter.runID = q["run_id"].map(String.init)
        filter.before = q["cursor"].map(String.init)
        if let since = q["since"] {
            guard let date = SinceParser.parse(String(since), now: Date()) else {
                throw SluiceError.invalidRequest("'since' must be a duration such as 30m, 1h, 7d or an ISO 8601 time; got '\(since)'.", param: "since")
            }
            filter.since = date
        }
        if let limit = q["limit"] {
            guard let n = Int(limit), (1...1000).contains(n) else {
                throw SluiceError.invalidRequest("'limit' must be an integer from 1 to 1000; got '\(limit)'.", param: "limit")
            }
            filter.limit = n
        }
        var page = filter
        page.limit = filter.limit + 1
        let rows = try await gateway.store.list(page)
        let hasMore = rows.count > filter.limit
        let items = Array(rows.prefix(filter.limit))
        return HTTPEdge.json(200, [
            "object": "list", "data": .array(items.map(\.json)), "has_more": .bool(hasMore),
            "next_cursor": hasMore ? .string(items.last!.callID) : .null,
        ])
    }

    func get(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        _ = try context.caller()
        let id = try context.parameters.require("id")
        // A call whose response has been sent is found at once, even before its batch is written.
        if let pending = gateway.callLog.pendingRecord(id) { return HTTPEdge.json(200, pending.json) }
        guard let record = try await gateway.store.get(id) else {
            throw SluiceError(.notFound, "No call with id '\(id)'; check the id.")
        }
        return HTTPEdge.json(200, record.json)
    }
}
