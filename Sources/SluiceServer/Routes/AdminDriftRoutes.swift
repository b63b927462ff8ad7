import Foundation
import Hummingbird
import SluiceCore
import SluiceEngine

/// `GET /admin/drift/{purpose}?window=7d&baseline=30d`: the purpose's recent calls against its baseline.
struct AdminDriftRoutes {
    let gateway: Gateway

    func register(on router: Router<SluiceRequestContext>) {
        router.get("/admin/drift/:purpose") { request, context in try await self.report(request, context) }
    }

    func report(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        _ = try context.caller()
        let purpose = context.parameters.get("purpose") ?? ""
        guard CallContext.isValidPurpose(purpose) else { throw SluiceError.invalidRequest("'\(purpose)' is not a purpose name.", param: "purpose") }
        let q = request.uri.queryParameters
        func duration(_ name: String, _ fallback: String) throws -> TimeInterval {
            let text = q.get(name) ?? fallback
            guard let s = SluiceConfig.duration(text) else {
                throw SluiceError.invalidRequest("\(name) must be a duration such as 1d, 7d or 30d; got '\(text)'.", param: name)
            }
            return s
        }
        let window = try duration("window", "7d")
        let baseline = try duration("baseline", "30d")
        await gateway.callLog.flush()
        let report = try await DriftReport.build(
            purpose: purpose, store: gateway.store, now: gateway.clock.now(), window: window, baseline: baseline,
            centroid: gateway.inputCentroid(purpose: purpose))
        return HTTPEdge.json(200, report.json)
    }
}
