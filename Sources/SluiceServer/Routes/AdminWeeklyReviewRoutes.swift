import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SluiceCore
import SluiceEngine

/// `GET /admin/review?since=7d&format=json|md|html`: the weekly review (not the review queue at
/// `/admin/reviews`), and the dashboard page `/review` that frames it.
struct AdminWeeklyReviewRoutes {
    let gateway: Gateway

    func register(on router: Router<SluiceRequestContext>) {
        router.get("/admin/review") { request, context in try await self.review(request, context) }
        router.get("/review") { request, context in await self.page(request, context) }
    }

    /// The `since` query parameter in seconds (default 7 days; 1 hour to 90 days).
    static func since(_ request: Request) throws -> TimeInterval {
        let text = request.uri.queryParameters.get("since") ?? "7d"
        guard let s = SluiceConfig.duration(text), s >= 3_600, s <= 90 * 86_400 else {
            throw SluiceError.invalidRequest("since must be a duration from 1h to 90d, such as 7d; got '\(text)'.", param: "since")
        }
        return s
    }

    func build(_ request: Request) async throws -> WeeklyReview {
        let since = try Self.since(request)
        await gateway.callLog.flush()
        return try await WeeklyReview.build(store: gateway.store, config: gateway.live.config, now: gateway.clock.now(), since: since)
    }

    func review(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        _ = try context.caller()
        let text = request.uri.queryParameters.get("format") ?? "json"
        guard let format = WeeklyReview.Format(rawValue: text) else {
            throw SluiceError.invalidRequest("format must be one of json, md, html; got '\(text)'.", param: "format")
        }
        let review = try await build(request)
        switch format {
        case .json: return HTTPEdge.json(200, review.json)
        case .md: return Self.text(review.markdown, type: "text/markdown; charset=utf-8")
        case .html: return DashboardRoutes.html(200, review.html)
        }
    }

    func page(_ request: Request, _ context: SluiceRequestContext) async -> Response {
        await DashboardRoutes(gateway: gateway).render(request, context) {
            let review = try await build(request)
            let links = "<p class=\"muted\">As <a href=\"/admin/review?format=json\">JSON</a>, <a href=\"/admin/review?format=md\">markdown</a>, "
                + "<a href=\"/admin/review?format=html\">a standalone page</a>.</p>"
            return HTML.page(title: "Weekly review", active: "review", asOf: review.json["generated_at"]?.stringValue, body: links + review.htmlBody)
        }
    }

    static func text(_ body: String, type: String) -> Response {
        var h = HTTPFields()
        h[.contentType] = type
        h[.cacheControl] = "no-store"
        return Response(status: .ok, headers: h, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
