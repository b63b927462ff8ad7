import Foundation
import Hummingbird
import SluiceCore
import SluiceEngine
import SluiceStore

/// End users at runtime: `GET /admin/end-users` (the overrides), `GET|PUT|DELETE
/// /admin/end-users/{user}`. A `PUT` overrides the `end_users:` defaults for one user
/// (other caps, or `blocked`); every node applies it within a second; each change is audited.
struct AdminEndUserRoutes {
    let gateway: Gateway
    var control: AdminControlRoutes { AdminControlRoutes(gateway: gateway) }

    func register(on router: Router<SluiceRequestContext>) {
        router.get("/admin/end-users") { request, context in try await self.list(request, context) }
        router.get("/admin/end-users/:user") { request, context in try await self.show(request, context) }
        router.put("/admin/end-users/:user") { request, context in try await self.put(request, context) }
        router.delete("/admin/end-users/:user") { request, context in try await self.clear(request, context) }
    }

    static let fields: Set<String> = ["daily_budget_usd", "monthly_budget_usd", "rpm", "tpm", "blocked", "reason"]

    func list(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        _ = try control.admin(request, context)
        return HTTPEdge.json(200, [
            "object": "list", "defaults": Self.json(gateway.config.endUsers), "data": .array(gateway.endUsers.all.map(EndUserBoard.json)),
        ])
    }

    func show(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        _ = try control.admin(request, context)
        return HTTPEdge.json(200, try await view(try Self.user(context)))
    }

    func put(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        let actor = try control.admin(request, context)
        let user = try Self.user(context)
        let body = try await AdminKeyRoutes.object(request, example: #"{"daily_budget_usd": 0.25, "blocked": false}"#)
        let limit = try Self.limit(user, body, actor: actor, now: Date())
        let saved = try await gateway.endUsers.put(limit, actor: actor)
        context.logger.notice(
            "end user limits set", metadata: ["user": "\(user)", "blocked": "\(saved.blocked)", "actor": "\(actor)"])
        return HTTPEdge.json(200, try await view(user))
    }

    func clear(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        let actor = try control.admin(request, context)
        let user = try Self.user(context)
        let reason = request.uri.queryParameters["reason"].map(String.init)
        guard try await gateway.endUsers.remove(user, actor: actor, reason: reason) else {
            throw SluiceError(.notFound, "End user '\(user)' has no override; the end_users defaults apply already.")
        }
        return HTTPEdge.json(200, try await view(user))
    }

    /// The user's effective limits, their override and today's and this month's spend.
    func view(_ user: String) async throws -> JSON {
        let o = gateway.endUsers.override(user)
        let effective = EndUserBoard.effective(gateway.config.endUsers, o)
        let (today, thisMonth) = try await gateway.endUsers.spend(user)
        return [
            "user": .string(user), "blocked": .bool(o?.blocked ?? false), "limits": Self.json(effective),
            "defaults": Self.json(gateway.config.endUsers), "override": o.map(EndUserBoard.json) ?? .null,
            "today_usd": .double(today?.costUSD ?? 0), "calls_today": .int(today?.calls ?? 0),
            "month_usd": .double(thisMonth?.costUSD ?? 0),
        ]
    }

    static func json(_ l: SluiceConfig.Limits?) -> JSON {
        guard let l else { return .null }
        return [
            "daily_budget_usd": l.dailyBudgetUSD.map(JSON.double) ?? .null, "monthly_budget_usd": l.monthlyBudgetUSD.map(JSON.double) ?? .null,
            "rpm": l.rpm.map(JSON.int) ?? .null, "tpm": l.tpm.map(JSON.int) ?? .null,
        ]
    }

    static func user(_ context: SluiceRequestContext) throws -> String {
        let user = (context.parameters.get("user") ?? "").removingPercentEncoding ?? ""
        guard !user.isEmpty, user.utf8.count <= 256 else {
            throw SluiceError.invalidRequest("The end user in the path must be 1 to 256 bytes, as sent in 'user' or X-Sluice-User.")
        }
        return user
    }

    /// The override a `PUT` body describes; fields left out keep the defaults.
    static func limit(_ user: String, _ body: [String: JSON], actor: String, now: Date) throws -> EndUserLimit {
        let f = try AdminFields(body, known: fields, what: "An end user")
        let (money, count) = (f.money, f.count)
        let blocked = try f.bool("blocked") ?? false
        let reason = try f.text("reason")
        return EndUserLimit(
            user: user, dailyBudgetUSD: try money("daily_budget_usd"), monthlyBudgetUSD: try money("monthly_budget_usd"),
            rpm: try count("rpm"), tpm: try count("tpm"), blocked: blocked, reason: reason, updatedAt: now, actor: actor)
    }
}
