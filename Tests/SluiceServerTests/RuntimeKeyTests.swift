import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// Virtual keys at runtime on one SQLite node: create, call, list, revoke, rotate, expire, limits.
@Suite struct RuntimeKeyTests {
    static let admin = ["Authorization": "Bearer admin-secret-123", "X-Sluice-Actor": "alice"]

    static func config(_ upstream: FakeUpstream) -> String {
        upstreamConfig(
            upstream,
            extra: """
                auth:
                  admin_key: admin-secret-123
                  keys:
                    - { name: app, key: app-secret-1234 }
                """)
    }

    static func bearer(_ key: String) -> [String: String] { ["Authorization": "Bearer \(key)"] }

    func create(_ h: Harness, _ body: String) async throws -> (id: String, secret: String) {
        let r = try await h.request(.POST, "/admin/keys", body: body, headers: Self.admin)
        #expect(r.status == 201, "\(r.text)")
        return (try #require(r.json["id"]?.stringValue), try #require(r.json["key"]?.stringValue))
    }

    @Test func aCreatedKeyCallsIsListedWithoutItsSecretAndIsRevoked() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        try await Harness.with(Self.config(upstream)) { h in
            let made = try await h.request(
                .POST, "/admin/keys",
                body: #"{"name":"bot","team":"billing","purposes":["*"],"models":["fast"],"metadata":{"owner":"bob"},"rpm":100}"#,
                headers: Self.admin)
            #expect(made.status == 201, "\(made.text)")
            let secret = try #require(made.json["key"]?.stringValue)
            let id = try #require(made.json["id"]?.stringValue)
            #expect(secret.hasPrefix("sk-sl-") && secret.count == 46)
            #expect(made.json["prefix"]?.stringValue == String(secret.prefix(10)) + "…")
            #expect(made.json["team"] == "billing" && made.json["metadata"]?["owner"] == "bob" && made.json["rpm"] == 100)

            let ok = try await h.chat(simpleChat, headers: Self.bearer(secret))
            #expect(ok.status == 200, "\(ok.text)")
            #expect(try await h.record(ok.header("X-Sluice-Call-Id")).keyName == "bot")
            let otherModel = try await h.chat(#"{"model":"private","messages":[{"role":"user","content":"hi"}]}"#, headers: Self.bearer(secret))
            #expect(otherModel.status == 403, "\(otherModel.text)")

            let list = try await h.request(.GET, "/admin/keys", headers: Self.admin)
            let rows = list.json["data"]?.arrayValue ?? []
            #expect(rows.map { $0["source"]?.stringValue ?? "" } == ["config", "runtime"])
            #expect(rows.allSatisfy { $0["key"] == nil })
            let shown = try await h.request(.GET, "/admin/keys/\(id)", headers: Self.admin)
            #expect(shown.status == 200 && shown.json["key"] == nil && shown.json["name"] == "bot")
            // Only the hash is stored.
            #expect(try await h.gateway.store.runtimeKeys().first?.keyHash == Hashing.sha256Hex(secret))
            #expect(!(try String(contentsOfFile: h.dbPath, encoding: .isoLatin1).contains(secret)))

            let revoked = try await h.request(.DELETE, "/admin/keys/\(id)?reason=leaked", headers: Self.admin)
            #expect(revoked.status == 200 && revoked.json["status"] == "revoked", "\(revoked.text)")
            let refused = try await h.chat(simpleChat, headers: Self.bearer(secret))
            #expect(refused.status == 401)
            #expect(refused.json["error"]?["message"]?.stringValue?.contains("revoked") == true, "\(refused.text)")
            #expect(try await h.request(.DELETE, "/admin/keys/\(id)", headers: Self.admin).status == 404)
            #expect(try await h.request(.DELETE, "/admin/keys/app", headers: Self.admin).status == 403)
            // Config keys keep working.
            #expect(try await h.chat(simpleChat, headers: Self.bearer("app-secret-1234")).status == 200)

            let audit = try await h.request(.GET, "/admin/audit", headers: Self.admin)
            let entries = audit.json["data"]?.arrayValue ?? []
            #expect(entries.prefix(2).map { $0["action"]?.stringValue ?? "" } == ["keys.revoke", "keys.create"])
            #expect(entries.first?["actor"] == "alice" && entries.first?["reason"] == "leaked")
            #expect(!audit.text.contains(secret) && !audit.text.contains(Hashing.sha256Hex(secret)))
        }
    }

    @Test func rotationKeepsTheOldSecretForItsGraceOnly() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let clock = ManualClock()
        try await Harness.with(Self.config(upstream), clock: clock) { h in
            let (id, old) = try await create(h, #"{"name":"rotor"}"#)
            let r = try await h.request(.POST, "/admin/keys/\(id)/rotate", body: #"{"grace_s": 60}"#, headers: Self.admin)
            #expect(r.status == 200, "\(r.text)")
            let new = try #require(r.json["key"]?.stringValue)
            #expect(new != old && r.json["id"]?.stringValue == id)
            #expect(try await h.chat(simpleChat, headers: Self.bearer(old)).status == 200)
            #expect(try await h.chat(simpleChat, headers: Self.bearer(new)).status == 200)
            clock.advance(61)
            let late = try await h.chat(simpleChat, headers: Self.bearer(old))
            #expect(late.status == 401 && late.json["error"]?["message"]?.stringValue?.contains("rotated") == true, "\(late.text)")
            #expect(try await h.chat(simpleChat, headers: Self.bearer(new)).status == 200)

            // Without a grace period the old secret stops at once.
            let again = try await h.request(.POST, "/admin/keys/\(id)/rotate", headers: Self.admin)
            let newest = try #require(again.json["key"]?.stringValue)
            #expect(try await h.chat(simpleChat, headers: Self.bearer(new)).status == 401)
            #expect(try await h.chat(simpleChat, headers: Self.bearer(newest)).status == 200)
            #expect(try await h.request(.POST, "/admin/keys/\(id)/rotate", body: #"{"grace_s": -1}"#, headers: Self.admin).status == 400)
        }
    }

    @Test func expiredKeysAreRefusedAndLimitsApply() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let clock = ManualClock()
        try await Harness.with(Self.config(upstream), clock: clock) { h in
            let (_, secret) = try await create(h, #"{"name":"temp","expires_at":"1h"}"#)
            #expect(try await h.chat(simpleChat, headers: Self.bearer(secret)).status == 200)
            clock.advance(3601)
            let expired = try await h.chat(simpleChat, headers: Self.bearer(secret))
            #expect(expired.status == 401 && expired.json["error"]?["message"]?.stringValue?.contains("expired") == true, "\(expired.text)")

            let (_, limited) = try await create(h, #"{"name":"slow","rpm":1,"purposes":["triage"]}"#)
            let triage = Self.bearer(limited).merging(["X-Sluice-Purpose": "triage"]) { a, _ in a }
            #expect(try await h.chat(simpleChat, headers: triage).status == 200)
            #expect(try await h.chat(simpleChat, headers: triage).status == 429)
            #expect(try await h.chat(simpleChat, headers: Self.bearer(limited)).status == 403)  // purpose 'default' not allowed
        }
    }

    @Test func createIsValidated() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        try await Harness.with(Self.config(upstream)) { h in
            for body in [#"{}"#, #"{"name":"app"}"#, #"{"name":"x","rpm":0}"#, #"{"name":"x","expires_at":"2001-01-01T00:00:00Z"}"#,
                         #"{"name":"x","purposes":"triage"}"#, #"{"name":"x","colour":"red"}"#, #"{"name":"x","metadata":[1]}"#]
            {
                let r = try await h.request(.POST, "/admin/keys", body: body, headers: Self.admin)
                #expect(r.status == 400, "\(body): \(r.text)")
            }
            _ = try await create(h, #"{"name":"dup"}"#)
            #expect(try await h.request(.POST, "/admin/keys", body: #"{"name":"dup"}"#, headers: Self.admin).status == 400)
            // A data key cannot manage keys.
            #expect(try await h.request(.POST, "/admin/keys", body: #"{"name":"y"}"#, headers: Self.bearer("app-secret-1234")).status == 403)
        }
    }
}
