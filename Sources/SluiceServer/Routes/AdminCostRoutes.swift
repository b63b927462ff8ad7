import Foundation
import Hummingbird
import SluiceCore
import SluiceEngine
import SluiceStore

/// `GET /admin/cost-summary?by=model|key|user|purpose|provider|run&since=24h&sort=cost|p95&limit=50`.
struct AdminCostRoutes {
    let gateway: Gateway

    func register(on router: Router<SluiceRequestContext>) {
        router.get("/admin/cost-summary") { request, context in try await self.summary(request, context) }
    }

    func summary(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        _ = try context.caller()
        let q = request.uri.queryParameters
        var by: LedgerDimension?
        if let text = q.get("by") {
            guard let d = LedgerDimension(rawValue: String(text)) else {
                throw SluiceError.invalidRequest(
                    "by must be one of \(LedgerDimension.allCases.map(\.rawValue).joined(separator: ", ")); got '\(text)'.", param: "by")
            }
            by = d
        }
        let now = gateway.clock.now()
        var since: Date?
        if let text = q.get("since") {
            guard let d = SinceParser.parse(String(text), now: now) else {
                throw SluiceError.invalidRequest("since must be a duration such as 24h or 7d, or an ISO 8601 time; got '\(text)'.", param: "since")
            }
            since = d
        }
        let (sort, limit) = try Self.sortAndLimit(q.get("sort"), q.get("limit"))
        await gateway.callLog.flush()
        let json = try await CostSummary.build(
            store: gateway.store, config: gateway.config, budget: gateway.budget, now: now, by: by, since: since, sort: sort, limit: limit)
        return HTTPEdge.json(200, json)
    }
}
