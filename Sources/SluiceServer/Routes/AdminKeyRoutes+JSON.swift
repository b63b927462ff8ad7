import Foundation
import SluiceCore
import SluiceEngine
import SluiceStore

/// Reading a key from a create request, and the key as the admin API shows it.
extension AdminKeyRoutes {
    /// A key to create from the request's fields (id, hash and times are set when it is stored).
    static func draft(_ body: [String: JSON], now: Date) throws -> RuntimeKey {
        let fields = try AdminFields(body, known: Self.fields, what: "A key")
        func present(_ f: String) -> JSON? { fields.present(f) }
        guard let name = present("name")?.stringValue?.trimmingCharacters(in: .whitespaces), !name.isEmpty else {
            throw SluiceError.invalidRequest("'name' is required: a string naming the key, recorded on its calls.", param: "name")
        }
        guard name.count <= 100, name != "admin" else {
            throw SluiceError.invalidRequest("'name' must be at most 100 characters and not 'admin'.", param: "name")
        }
        let (text, list, money, count) = (fields.text, fields.list, fields.money, fields.count)
        var expires: Date?
        if let e = try text("expires_at") {
            expires = try? Date(e, strategy: .iso8601)
            if expires == nil, let back = SinceParser.parse(e, now: now) { expires = now.addingTimeInterval(now.timeIntervalSince(back)) }
            guard let at = expires, at > now else {
                throw SluiceError.invalidRequest(
                    "'expires_at' must be a future ISO 8601 time (2027-01-31T00:00:00Z) or a duration from now (30d, 12h).",
                    param: "expires_at")
            }
        }
        var metadata: String?
        if let m = present("metadata") {
            guard m.objectValue != nil else {
                throw SluiceError.invalidRequest("'metadata' must be a JSON object; got \(m.typeName).", param: "metadata")
            }
            metadata = m.jsonString
            guard metadata!.utf8.count <= 8192 else {
                throw SluiceError.invalidRequest("'metadata' must be at most 8 KiB of JSON.", param: "metadata")
            }
        }
        let purposes = try list("purposes") ?? ["*"]
        if let bad = purposes.first(where: { $0 != "*" && !CallContext.isValidPurpose($0) }) {
            throw SluiceError.invalidRequest("'\(bad)' is not a valid purpose name.", param: "purposes")
        }
        return RuntimeKey(
            id: "", name: name, team: try text("team"), purposes: purposes, models: try list("models") ?? [], keyHash: "",
            prefix: "", expiresAt: expires, dailyBudgetUSD: try money("daily_budget_usd"),
            monthlyBudgetUSD: try money("monthly_budget_usd"), rpm: try count("rpm"), tpm: try count("tpm"), metadata: metadata,
            createdAt: now)
    }

    /// `active`, `revoked` or `expired`.
    static func status(_ k: RuntimeKey, now: Date) -> String {
        if k.revokedAt != nil { return "revoked" }
        if let e = k.expiresAt, e <= now { return "expired" }
        return "active"
    }

    /// A runtime key as the admin API shows it; `secret` (the `key` field) only on create and rotate.
    static func json(_ k: RuntimeKey, secret: String?, now: Date = Date()) -> JSON {
        func time(_ d: Date?) -> JSON { d.map { .string(Timestamp.iso8601($0)) } ?? .null }
        var o: JSONObject = [
            "object": "key", "id": .string(k.id), "name": .string(k.name), "source": "runtime",
            "team": k.team.map(JSON.string) ?? .null, "purposes": .array(k.purposes.map(JSON.string)),
            "models": .array(k.models.map(JSON.string)), "prefix": .string(k.prefix), "expires_at": time(k.expiresAt),
            "daily_budget_usd": k.dailyBudgetUSD.map(JSON.double) ?? .null,
            "monthly_budget_usd": k.monthlyBudgetUSD.map(JSON.double) ?? .null,
            "rpm": k.rpm.map(JSON.int) ?? .null, "tpm": k.tpm.map(JSON.int) ?? .null,
            "metadata": k.metadata.flatMap { try? JSON.parse($0) } ?? .null, "created_at": time(k.createdAt),
            "revoked_at": time(k.revokedAt), "status": .string(status(k, now: now)),
            "previous_valid_until": time(k.previousValidUntil.flatMap { $0 > now ? $0 : nil }),
        ]
        if let secret { o["key"] = .string(secret) }
        return .object(o)
    }
}
