import Foundation
import Hummingbird
import SluiceCore
import SluiceEngine
import SluiceStore

/// `GET|PUT /admin/flags` and `DELETE /admin/flags/{key}`: the live selection
/// (variants, model, shadow, disabled, a canary's guard), changed without a restart.
struct AdminFlagRoutes {
    let gateway: Gateway
    let control: AdminControlRoutes

    init(gateway: Gateway) {
        self.gateway = gateway
        control = AdminControlRoutes(gateway: gateway)
    }

    func register(on router: Router<SluiceRequestContext>) {
        router.get("/admin/flags") { request, context in try await self.list(request, context) }
        router.put("/admin/flags") { request, context in try await self.set(request, context) }
        router.delete("/admin/flags/:key") { request, context in try await self.remove(request, context) }
    }

    /// Every stored flag with its value, who set it and when; plus what each purpose runs now.
    func list(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        _ = try control.admin(request, context)
        return HTTPEdge.json(200, .object(try await listing()))
    }

    func listing() async throws -> JSONObject {
        let stored = try await gateway.flags.stored()
        var flags = JSONObject()
        var detail: [JSON] = []
        for f in stored {
            let value = (try? JSON.parse(f.value)) ?? .string(f.value)
            flags[f.key] = value
            detail.append(["key": .string(f.key), "value": value, "actor": .string(f.actor), "updated_at": .string(Timestamp.iso8601(f.updatedAt))])
        }
        return ["flags": .object(flags), "data": .array(detail), "effective": Self.effective(gateway.live.snapshot)]
    }

    /// Merges the body's keys into the flags (`null` removes one); 400 names the first bad one.
    func set(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        let actor = try control.admin(request, context)
        let buffer = try await request.body.collect(upTo: 256 * 1024)
        guard var body = (try? JSON.parse(Array(buffer.readableBytesView)))?.objectValue else {
            throw SluiceError.invalidRequest(#"The body must be a JSON object of flags, such as {"triage.variants": {"v3": 90, "v4": 10}}."#)
        }
        let reason = body.removeValue(forKey: "reason")?.stringValue
        let values = Dictionary(body.members.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
        let entries = try await gateway.flags.set(values, actor: actor, reason: reason)
        return try await changed(entries)
    }

    /// Removes one flag; the config's value applies again.
    func remove(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        let actor = try control.admin(request, context)
        let key = context.parameters.get("key") ?? ""
        let entries = try await gateway.flags.set([key: .null], actor: actor, reason: request.uri.queryParameters.get("reason"))
        guard !entries.isEmpty else { throw SluiceError(.notFound, "No flag '\(key)' is set.") }
        return try await changed(entries)
    }

    /// The flags after a change, with what changed (old and new value, audit id).
    func changed(_ entries: [AuditEntry]) async throws -> Response {
        var obj = try await listing()
        obj["changed"] = .array(entries.map { e in
            ["key": .string(String(e.target.dropFirst("flag:".count))), "old": e.oldValue.flatMap { try? JSON.parse($0) } ?? .null,
             "new": e.newValue.flatMap { try? JSON.parse($0) } ?? .null, "audit_id": .string(e.id)]
        })
        return HTTPEdge.json(200, .object(obj))
    }

    /// What each configured purpose runs now: its prompt version, model and arms.
    static func effective(_ s: LiveConfig.Snapshot) -> JSON {
        var out = JSONObject()
        for (name, p) in s.config.purposes.sorted(by: { $0.key < $1.key }) {
            out[name] = [
                "prompt": p.prompt.map(JSON.string) ?? .null, "prompt_version": p.promptVersion.map(JSON.string) ?? .null,
                "model": p.model.map(JSON.string) ?? .null, "variants": p.variants.isEmpty ? .null : Variant.json(p.variants),
                "disabled": .bool(s.disabled.contains(name)), "guard": s.guards[name]?.json ?? .null,
            ]
        }
        for name in s.disabled where out[name] == nil { out[name] = ["disabled": true] }
        return .object(out)
    }
}
