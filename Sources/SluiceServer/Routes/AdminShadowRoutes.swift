import Foundation
import Hummingbird
import SluiceCore
import SluiceEngine

/// `GET /admin/shadow/{purpose}?since=7d&limit=20`: the purpose's shadow report.
struct AdminShadowRoutes {
    let gateway: Gateway

    func register(on router: Router<SluiceRequestContext>) {
        router.get("/admin/shadow/:purpose") { request, context in try await self.report(request, context) }
    }

    func report(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        _ = try context.caller()
        let purpose = try context.parameters.require("purpose")
        let config = gateway.live.config
        guard config.purposes[purpose] != nil else {
            throw SluiceError(
                .notFound, "Unknown purpose '\(purpose)'; configured purposes: \(config.purposes.keys.sorted().joined(separator: ", ")).",
                param: "purpose")
        }
        let q = request.uri.queryParameters
        let now = gateway.clock.now()
        let sinceText = q.get("since").map { String($0) } ?? "7d"
        guard let since = SinceParser.parse(sinceText, now: now) else {
            throw SluiceError.invalidRequest("since must be a duration such as 24h or 7d, or an ISO 8601 time; got '\(sinceText)'.", param: "since")
        }
        var limit = 20
        if let text = q.get("limit") {
            guard let n = Int(String(text)), (0...1000).contains(n) else {
                throw SluiceError.invalidRequest("limit (disagreements listed) must be 0…1000; got '\(text)'.", param: "limit")
            }
            limit = n
        }
        await gateway.callLog.flush()
        let json = try await ShadowReport.build(
            store: gateway.store, purpose: purpose, since: since, until: now.addingTimeInterval(1),
            shadow: config.purposes[purpose]?.shadow, counters: gateway.shadows.counters[purpose],
            outputsStored: config.storage.logBodies == .full, limit: limit)
        return HTTPEdge.json(200, json)
    }
}
