import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SluiceCore
import SluiceEngine
import SluiceStore

/// Operator controls: `POST|DELETE|GET /admin/kill`, `GET /admin/audit`, `GET /admin/breakers`.
struct AdminControlRoutes {
    let gateway: Gateway

    func register(on router: Router<SluiceRequestContext>) {
        router.post("/admin/kill") { request, context in try await self.kill(request, context) }
        router.delete("/admin/kill") { request, context in try await self.unkill(request, context) }
        router.get("/admin/kill") { request, context in try self.listKills(request, context) }
        router.get("/admin/audit") { request, context in try await self.audit(request, context) }
        router.get("/admin/breakers") { request, context in try self.breakers(request, context) }
    }

    func admin(_ request: Request, _ context: SluiceRequestContext) throws -> String {
        _ = try context.caller()
        guard let actor = request.headers[HTTPEdge.actor]?.trimmingCharacters(in: .whitespaces), !actor.isEmpty else {
            return "admin"
        }
        guard actor.count <= 100 else {
            throw SluiceError.invalidRequest("X-Sluice-Actor must be at most 100 characters.", param: "X-Sluice-Actor")
        }
        return actor
    }

    /// The scope, name and reason of a kill request, from the JSON body or the query string.
    /// Names are checked against the config when switching off; switching back on
    /// takes any name that is off (its provider or model may have left the config since).
    func target(_ request: Request, reasonRequired: Bool) async throws -> (KillSwitch.Scope, String, String?) {
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        var fields: [String: String] = [:]
        if buffer.readableBytes > 0 {
            guard let object = (try? JSON.parse(Array(buffer.readableBytesView)))?.objectValue else {
                throw SluiceError.invalidRequest(#"The body must be a JSON object such as {"purpose": "triage", "reason": "bad outputs"}."#)
            }
            for (k, v) in object {
                guard let s = v.stringValue else {
                    throw SluiceError.invalidRequest("'\(k)' must be a string; got \(v.typeName).", param: k)
                }
                fields[k] = s
            }
        }
        for (k, v) in request.uri.queryParameters where fields[String(k)] == nil { fields[String(k)] = String(v) }
        let allowed = Set(KillSwitch.Scope.allCases.map(\.rawValue) + ["reason"])
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw SluiceError.invalidRequest(
                "Unknown field '\(unknown)': name exactly one of purpose, model or provider, plus a reason.", param: unknown)
        }
        let named = KillSwitch.Scope.allCases.compactMap { s in fields[s.rawValue].map { (s, $0) } }
        guard named.count == 1, let (scope, name) = named.first, !name.isEmpty else {
            throw SluiceError.invalidRequest(
                "Name exactly one of purpose, model or provider (got \(named.isEmpty ? "none" : named.map(\.0.rawValue).joined(separator: " and "))).")
        }
        if reasonRequired { try validate(scope, name) }
        let reason = fields["reason"]?.trimmingCharacters(in: .whitespacesAndNewlines)
        if reasonRequired, reason?.isEmpty ?? true {
            throw SluiceError.invalidRequest(
                "A reason is required: it is shown to every caller refused and kept in the audit log.", param: "reason")
        }
        if let reason, reason.count > 500 {
            throw SluiceError.invalidRequest("The reason must be at most 500 characters.", param: "reason")
        }
        return (scope, name, reason)
    }

    func validate(_ scope: KillSwitch.Scope, _ name: String) throws {
        switch scope {
        case .purpose:
            guard CallContext.isValidPurpose(name) else {
                throw SluiceError.invalidRequest("'\(name)' is not a valid purpose name.", param: "purpose")
            }
        case .provider:
            let known = gateway.config.providers.map(\.name)
            guard known.contains(name) else {
                throw SluiceError.invalidRequest(
                    "Unknown provider '\(name)'. Configured providers: \(known.joined(separator: ", ")).", param: "provider")
            }
        case .model:
            guard gateway.catalog.knows(model: name) || (try? gateway.catalog.targets(for: name)) != nil else {
                throw SluiceError.invalidRequest(
                    "Unknown model '\(name)': name a configured model (\(gateway.catalog.names.prefix(20).joined(separator: ", "))), "
                        + "the upstream model id of one of their targets, or PROVIDER/MODEL.", param: "model")
            }
        }
    }

    func kill(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        let actor = try admin(request, context)
        let (scope, name, reason) = try await target(request, reasonRequired: true)
        let kill = try await gateway.kills.set(scope, name, reason: reason ?? "", actor: actor)
        context.logger.notice(
            "kill switch on", metadata: ["scope": "\(scope.rawValue)", "name": "\(name)", "actor": "\(actor)", "reason": "\(kill.reason)"])
        return HTTPEdge.json(200, ["object": "kill_switch", "enabled": true, "kill": Self.json(kill)])
    }

    func unkill(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        let actor = try admin(request, context)
        let (scope, name, reason) = try await target(request, reasonRequired: false)
        guard let old = try await gateway.kills.remove(scope, name, reason: reason, actor: actor) else {
            throw SluiceError(.notFound, "No kill switch is on for \(scope.rawValue) '\(name)'. GET /admin/kill lists the ones that are.")
        }
        context.logger.notice("kill switch off", metadata: ["scope": "\(scope.rawValue)", "name": "\(name)", "actor": "\(actor)"])
        return HTTPEdge.json(200, ["object": "kill_switch", "enabled": false, "kill": Self.json(old)])
    }

    func listKills(_ request: Request, _ context: SluiceRequestContext) throws -> Response {
        _ = try admin(request, context)
        return HTTPEdge.json(200, ["object": "list", "data": .array(gateway.kills.all.map(Self.json))])
    }

    func audit(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        _ = try admin(request, context)
        let q = request.uri.queryParameters
        var limit = 100
        if let l = q["limit"] {
            guard let n = Int(l), (1...1000).contains(n) else {
                throw SluiceError.invalidRequest("'limit' must be an integer from 1 to 1000; got '\(l)'.", param: "limit")
            }
            limit = n
        }
        let rows = try await gateway.store.audit(limit: limit + 1, before: q["cursor"].map(String.init))
        let items = Array(rows.prefix(limit))
        let more = rows.count > limit
        return HTTPEdge.json(200, [
            "object": "list", "data": .array(items.map(Self.json)), "has_more": .bool(more),
            "next_cursor": more ? .string(items.last!.id) : .null,
        ])
    }

    func breakers(_ request: Request, _ context: SluiceRequestContext) throws -> Response {
        _ = try admin(request, context)
        let seen = Dictionary(gateway.breakers.snapshot().map { ($0.target, $0) }, uniquingKeysWith: { a, _ in a })
        // Configured targets, plus any PROVIDER/MODEL pairs clients have used (bounded by the board).
        let keys = Set(gateway.catalog.targetKeys).union(seen.keys).sorted()
        let settings = gateway.config.breaker
        let data: [JSON] = keys.map { key in
            let s = seen[key]
            let calls = s?.calls ?? 0
            let errors = s?.errors ?? 0
            return [
                "target": .string(key), "state": .string(s?.state ?? "closed"), "calls": .int(calls), "errors": .int(errors),
                "error_rate": calls > 0 ? .double((Double(errors) / Double(calls) * 1000).rounded() / 1000) : .null,
                "opened_at": s?.openedAt.map { .string(Timestamp.iso8601($0)) } ?? .null,
                "probe_at": s?.probeAt.map { .string(Timestamp.iso8601($0)) } ?? .null,
                "times_opened": .int(s?.timesOpened ?? 0),
            ]
        }
        return HTTPEdge.json(200, [
            "object": "list", "data": .array(data), "key_pools": Self.keyPools(gateway.keyPools),
            "settings": [
                "window_s": .double(settings.windowS), "min_calls": .int(settings.minCalls),
                "error_rate": .double(settings.errorRate), "cooldown_s": .double(settings.cooldownS),
            ],
        ])
    }

    static func json(_ k: KillSwitch) -> JSON {
        [
            "scope": .string(k.scope.rawValue), "name": .string(k.name), "reason": .string(k.reason),
            "actor": .string(k.actor), "created_at": .string(Timestamp.iso8601(k.createdAt)),
        ]
    }

    static func json(_ e: AuditEntry) -> JSON {
        func parsed(_ s: String?) -> JSON { s.map { (try? JSON.parse($0)) ?? .string($0) } ?? .null }
        return [
            "id": .string(e.id), "at": .string(Timestamp.iso8601(e.at)), "actor": .string(e.actor),
            "action": .string(e.action), "target": .string(e.target), "reason": e.reason.map(JSON.string) ?? .null,
            "old_value": parsed(e.oldValue), "new_value": parsed(e.newValue),
        ]
    }
}
