import Foundation
import Hummingbird
import SluiceCore
import SluiceEngine
import SluiceStore

/// Virtual keys at runtime: `POST|GET /admin/keys`, `GET|DELETE /admin/keys/{id}`,
/// `POST /admin/keys/{id}/rotate`. The secret is answered once, on create and rotate.
struct AdminKeyRoutes {
    let gateway: Gateway
    var control: AdminControlRoutes { AdminControlRoutes(gateway: gateway) }

    func register(on router: Router<SluiceRequestContext>) {
        router.post("/admin/keys") { request, context in try await self.create(request, context) }
        router.get("/admin/keys") { request, context in try await self.list(request, context) }
        router.get("/admin/keys/:id") { request, context in try await self.show(request, context) }
        router.delete("/admin/keys/:id") { request, context in try await self.revoke(request, context) }
        router.post("/admin/keys/:id/rotate") { request, context in try await self.rotate(request, context) }
    }

    static let fields: Set<String> = [
        "name", "team", "purposes", "models", "expires_at", "daily_budget_usd", "monthly_budget_usd", "rpm", "tpm", "metadata",
    ]

    func create(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        let actor = try control.admin(request, context)
        let body = try await Self.object(request, example: #"{"name": "billing-bot", "purposes": ["triage"]}"#)
        let draft = try Self.draft(body, now: gateway.runtimeKeys.clock.now())
        let (key, secret) = try await gateway.runtimeKeys.create(draft, actor: actor)
        context.logger.notice("key created", metadata: ["id": "\(key.id)", "name": "\(key.name)", "actor": "\(actor)"])
        return HTTPEdge.json(201, Self.json(key, secret: secret))
    }

    func list(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        _ = try control.admin(request, context)
        return HTTPEdge.json(200, ["object": "list", "data": .array(try await listed())])
    }

    /// Every key as `GET /admin/keys` lists it, config keys first, never with a secret or hash
    /// (the dashboard's keys page shows the same list).
    func listed() async throws -> [JSON] {
        let config: [JSON] = gateway.config.auth.keys.map { k in
            [
                "id": .null, "name": .string(k.name), "source": "config", "prefix": .null,
                "purposes": .array(k.purposes.map(JSON.string)), "models": [], "status": "active",
                "team": k.team.map(JSON.string) ?? .null, "daily_budget_usd": k.dailyBudgetUSD.map(JSON.double) ?? .null,
                "monthly_budget_usd": k.monthlyBudgetUSD.map(JSON.double) ?? .null,
                "rpm": k.rpm.map(JSON.int) ?? .null, "tpm": k.tpm.map(JSON.int) ?? .null,
            ]
        }
        let runtime = try await gateway.runtimeKeys.list().map { Self.json($0, secret: nil, now: gateway.runtimeKeys.clock.now()) }
        return config + runtime
    }

    func show(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        _ = try control.admin(request, context)
        let key = try await found(context)
        return HTTPEdge.json(200, Self.json(key, secret: nil, now: gateway.runtimeKeys.clock.now()))
    }

    func revoke(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        let actor = try control.admin(request, context)
        let reason = request.uri.queryParameters["reason"].map(String.init)
        let existing = try await found(context)
        guard let key = try await gateway.runtimeKeys.revoke(id: existing.id, reason: reason, actor: actor) else {
            throw SluiceError(.notFound, "Key '\(existing.id)' is already revoked.")
        }
        context.logger.notice("key revoked", metadata: ["id": "\(key.id)", "name": "\(key.name)", "actor": "\(actor)"])
        return HTTPEdge.json(200, Self.json(key, secret: nil, now: gateway.runtimeKeys.clock.now()))
    }

    func rotate(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        let actor = try control.admin(request, context)
        let body = try await Self.object(request, example: #"{"grace_s": 60}"#)
        if let unknown = body.keys.sorted().first(where: { $0 != "grace_s" }) {
            throw SluiceError.invalidRequest("Unknown field '\(unknown)': rotate takes only grace_s.", param: unknown)
        }
        var grace = 0
        if let g = body["grace_s"], !g.isNull {
            guard let n = g.intValue, (0...2_592_000).contains(n) else {
                throw SluiceError.invalidRequest("'grace_s' must be a whole number of seconds from 0 to 2592000 (30 days).", param: "grace_s")
            }
            grace = n
        }
        let existing = try await found(context)
        guard let (key, secret) = try await gateway.runtimeKeys.rotate(id: existing.id, graceSeconds: grace, actor: actor) else {
            throw SluiceError(.notFound, "Key '\(existing.id)' is revoked; a revoked key cannot be rotated. Create a new one.")
        }
        context.logger.notice("key rotated", metadata: ["id": "\(key.id)", "grace_s": "\(grace)", "actor": "\(actor)"])
        return HTTPEdge.json(200, Self.json(key, secret: secret))
    }

    /// The runtime key named by the path's id, or a 404 that says what to do.
    func found(_ context: SluiceRequestContext) async throws -> RuntimeKey {
        let id = context.parameters.get("id") ?? ""
        if let key = try await gateway.runtimeKeys.key(id: id) { return key }
        if gateway.config.auth.keys.contains(where: { $0.name == id }) {
            throw SluiceError(.forbidden, "Key '\(id)' comes from the config (auth.keys) and is read-only here; change it in the config file.")
        }
        throw SluiceError(.notFound, "No runtime key has id '\(id)'. GET /admin/keys lists them.")
    }

    /// The request body as a JSON object; an empty body is an empty object.
    static func object(_ request: Request, example: String) async throws -> [String: JSON] {
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        guard buffer.readableBytes > 0 else { return [:] }
        guard let object = (try? JSON.parse(Array(buffer.readableBytesView)))?.objectValue else {
            throw SluiceError.invalidRequest("The body must be a JSON object such as \(example).")
        }
        var out: [String: JSON] = [:]
        for (k, v) in object { out[k] = v }
        return out
    }
}
