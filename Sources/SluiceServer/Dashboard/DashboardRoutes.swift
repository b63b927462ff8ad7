import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SluiceCore
import SluiceEngine
import SluiceStore

/// The dashboard: server-rendered pages at `/`, `/latency`, `/cache`,
/// `/quality`, `/shadows`, `/tasks`, `/calls`, `/calls/{id}`, `/users` and `/keys`, the login
/// form, and each page's numbers as JSON at `GET /admin/dashboard/{page}`.
struct DashboardRoutes {
    let gateway: Gateway
    var auth: DashboardAuth { DashboardAuth(keyRing: gateway.keyRing) }

    func register(on router: Router<SluiceRequestContext>) {
        let pages: [(String, String)] = [
            ("/", "overview"), ("/latency", "latency"), ("/cache", "cache"), ("/quality", "quality"),
            ("/shadows", "shadows"), ("/tasks", "tasks"), ("/calls", "calls"), ("/users", "users"), ("/keys", "keys"),
        ]
        for (path, page) in pages {
            router.get(RouterPath(path)) { request, context in await self.page(page, request, context) }
        }
        router.get("/calls/:id") { request, context in await self.callPage(request, context) }
        router.get("/login") { request, _ in
            Self.html(200, DashboardAuth.loginPage(next: DashboardAuth.safeNext(request.uri.queryParameters.get("next")), message: nil))
        }
        router.post("/login") { request, context in try await self.login(request, context) }
        router.post("/logout") { _, _ in
            var h = HTTPFields()
            h[.location] = "/login"
            h[.setCookie] = DashboardAuth.clearCookie
            return Response(status: .seeOther, headers: h)
        }
        router.get("/admin/dashboard/:page") { request, context in try await self.json(request, context) }
    }

    // MARK: JSON

    func json(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        _ = try context.caller()
        let page = try context.parameters.require("page")
        guard DashboardData.pages.contains(page) else {
            throw SluiceError(.notFound, "No dashboard page '\(page)'; pages: \(DashboardData.pages.joined(separator: ", ")).", param: "page")
        }
        await gateway.callLog.flush()
        return HTTPEdge.json(200, try await data(page, request))
    }

    /// The page's numbers.
    func data(_ page: String, _ request: Request) async throws -> JSON {
        let now = gateway.clock.now()
        let store = gateway.store
        let config = gateway.live.config
        switch page {
        case "overview": return try await DashboardData.overview(store: store, config: config, budget: gateway.budget, now: now)
        case "latency": return try await DashboardData.latency(store: store, now: now)
        case "cache": return try await DashboardData.cache(store: store, now: now)
        case "quality":
            let q = request.uri.queryParameters
            return try await DashboardData.quality(
                store: store, config: config, now: now, window: try Self.duration(q.get("window"), "window", 86_400),
                baseline: try Self.duration(q.get("baseline"), "baseline", 7 * 86_400))
        case "shadows":
            return try await DashboardData.shadows(
                store: store, config: config, counters: gateway.shadows.counters, now: now,
                since: try Self.duration(request.uri.queryParameters.get("since"), "since", 7 * 86_400))
        case "tasks": return try await DashboardData.tasks(store: store, now: now)
        case "users": return try await DashboardData.users(store: store, now: now)
        case "keys": return DashboardPages.keysData(try await AdminKeyRoutes(gateway: gateway).listed(), now: now)
        default: return try await DashboardData.calls(store: store, filter: try Self.filter(request), now: now)
        }
    }

    static func duration(_ text: String?, _ name: String, _ fallback: TimeInterval) throws -> TimeInterval {
        guard let text else { return fallback }
        guard let s = SluiceConfig.duration(text), s > 0 else {
            throw SluiceError.invalidRequest("\(name) must be a duration such as 1d, 7d or 30d; got '\(text)'.", param: name)
        }
        return s
    }

    static let statuses = ["ok", "error", "stream_interrupted", "degraded"]

    static func filter(_ request: Request) throws -> CallFilter {
        let q = request.uri.queryParameters
        func text(_ k: String) -> String? { q.get(k).flatMap { $0.isEmpty ? nil : $0 } }
        var f = CallFilter(purpose: text("purpose"), model: text("model"), status: text("status"), runID: text("run_id"), before: text("before"))
        if let s = f.status, !statuses.contains(s) {
            throw SluiceError.invalidRequest("status must be one of \(statuses.joined(separator: ", ")); got '\(s)'.", param: "status")
        }
        if let l = text("limit") {
            guard let n = Int(l), (1...500).contains(n) else { throw SluiceError.invalidRequest("limit must be 1…500; got '\(l)'.", param: "limit") }
            f.limit = n
        }
        return f
    }

    // MARK: HTML

    func page(_ page: String, _ request: Request, _ context: SluiceRequestContext) async -> Response {
        await render(request, context) {
            let j = try await data(page, request)
            return switch page {
            case "overview": DashboardPages.overview(j)
            case "latency": DashboardPages.latency(j)
            case "cache": DashboardPages.cache(j)
            case "quality": DashboardPages.quality(j)
            case "shadows": DashboardPages.shadows(j)
            case "tasks": DashboardPages.tasks(j)
            case "users": DashboardPages.users(j)
            case "keys": DashboardPages.keys(j)
            default: DashboardPages.calls(j)
            }
        }
    }

    func callPage(_ request: Request, _ context: SluiceRequestContext) async -> Response {
        await render(request, context) {
            let id = try context.parameters.require("id")
            guard let record = try await gateway.store.get(id) else {
                throw SluiceError(.notFound, "No call with id '\(id)'. Calls are written within a moment of finishing; check the id.")
            }
            return DashboardPages.call(record.json)
        }
    }

    /// The login form for a visitor without the admin key; otherwise the page `html` builds,
    /// or an error page with the failure's status.
    func render(_ request: Request, _ context: SluiceRequestContext, _ html: () async throws -> String) async -> Response {
        switch auth.check(request, context) {
        case .login(let message):
            return Self.html(401, DashboardAuth.loginPage(next: request.uri.path, message: message))
        case .allowed(let cookie):
            do {
                return Self.html(200, try await html(), cookie: cookie)
            } catch {
                return Self.failure(error, cookie: cookie)
            }
        }
    }

    func login(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        let body = try await request.body.collect(upTo: 64 << 10)
        let form = DashboardAuth.form(String(buffer: body))
        let next = DashboardAuth.safeNext(form["next"])
        guard let key = form["key"], !key.isEmpty,
              (try? gateway.keyRing.authenticateAdmin(key: key, fromLoopback: context.isLoopback)) != nil,
              let cookie = auth.sessionCookie()
        else {
            let message = gateway.keyRing.hasAdminKey ? "That key is not the admin key." : "No admin key is configured; set auth.admin_key."
            return Self.html(401, DashboardAuth.loginPage(next: next, message: message))
        }
        var h = HTTPFields()
        h[.location] = next
        h[.setCookie] = cookie
        return Response(status: .seeOther, headers: h)
    }

    static func failure(_ error: any Error, cookie: String?) -> Response {
        let e = HTTPEdge.sluiceError(from: error)
        let body = HTML.page(title: "Error", active: "", asOf: nil, body: "<p class=\"bad\" id=\"error\">\(HTML.esc(e.message))</p>")
        return html(e.code.status, body, cookie: cookie)
    }

    static func html(_ status: Int, _ text: String, cookie: String? = nil) -> Response {
        var h = HTTPFields()
        h[.contentType] = "text/html; charset=utf-8"
        h[.cacheControl] = "no-store"
        h[.contentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'"
        if let cookie { h[.setCookie] = cookie }
        return Response(status: .init(code: status), headers: h, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
