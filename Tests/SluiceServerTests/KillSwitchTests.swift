import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

@Suite struct KillSwitchTests {
    static let admin = ["Authorization": "Bearer admin-secret-123", "X-Sluice-Actor": "alice"]

    func config(_ c: Chain) -> String {
        c.config(
            """
            auth:
              admin_key: admin-secret-123
              keys:
                - { name: app, key: app-secret-1234 }
            """, retry: noRetry)
    }

    static let app = ["Authorization": "Bearer app-secret-1234"]

    @Test func aKilledPurposeGets503WithTheReasonAndEveryChangeIsAudited() async throws {
        try await Chain.with { c in
            try await Harness.with(config(c)) { h in
                let on = try await h.request(
                    .POST, "/admin/kill", body: #"{"purpose":"triage","reason":"prompt v4 returns garbage"}"#, headers: Self.admin)
                #expect(on.status == 200, "\(on.text)")
                #expect(on.json["kill"]?["actor"]?.stringValue == "alice")

                let refused = try await h.chat(chainChat, headers: Self.app.merging(["X-Sluice-Purpose": "triage"]) { a, _ in a })
                #expect(refused.status == 503)
                #expect(refused.json["error"]?["code"]?.stringValue == "disabled")
                #expect(refused.json["error"]?["message"]?.stringValue?.contains("prompt v4 returns garbage") == true)
                #expect(c.counts == (0, 0))
                let rec = try await h.record(refused.header("X-Sluice-Call-Id"))
                #expect(rec.httpStatus == 503)
                #expect(rec.error?.contains("kill switch") == true)

                // Other purposes are untouched.
                #expect(try await h.chat(chainChat, headers: Self.app).status == 200)

                let list = try await h.request(.GET, "/admin/kill", headers: Self.admin)
                #expect(list.json["data"]?.arrayValue?.first?["name"]?.stringValue == "triage")

                let off = try await h.request(.DELETE, "/admin/kill", body: #"{"purpose":"triage","reason":"v3 back"}"#, headers: Self.admin)
                #expect(off.status == 200)
                #expect(try await h.chat(chainChat, headers: Self.app.merging(["X-Sluice-Purpose": "triage"]) { a, _ in a }).status == 200)
                let again = try await h.request(.DELETE, "/admin/kill?purpose=triage", headers: Self.admin)
                #expect(again.status == 404)

                let audit = try await h.request(.GET, "/admin/audit", headers: Self.admin)
                let rows = audit.json["data"]?.arrayValue ?? []
                #expect(rows.map { $0["action"]?.stringValue } == ["unkill", "kill"])
                #expect(rows.allSatisfy { $0["actor"]?.stringValue == "alice" && $0["target"]?.stringValue == "purpose:triage" })
                #expect(rows.last?["reason"]?.stringValue == "prompt v4 returns garbage")
                #expect(rows.first?["reason"]?.stringValue == "v3 back")
                #expect(rows.first?["at"]?.stringValue?.hasSuffix("Z") == true)
            }
        }
    }

    @Test func aKilledProviderIsSkippedAndAllKilledIs503() async throws {
        try await Chain.with { c in
            try await Harness.with(config(c)) { h in
                _ = try await h.request(.POST, "/admin/kill", body: #"{"provider":"primary","reason":"incident"}"#, headers: Self.admin)
                let r = try await h.chat(chainChat, headers: Self.app)
                #expect(r.status == 200)
                #expect(r.header("X-Sluice-Provider") == "backup")
                #expect(c.counts == (0, 1))
                _ = try await h.request(.POST, "/admin/kill", body: #"{"model":"m-backup","reason":"bad model"}"#, headers: Self.admin)
                let none = try await h.chat(chainChat, headers: Self.app)
                #expect(none.status == 503)
                #expect(none.json["error"]?["code"]?.stringValue == "disabled")
                #expect(c.counts == (0, 1))
                // Killing the model name clients send refuses it outright.
                _ = try await h.request(.POST, "/admin/kill", body: #"{"model":"solo","reason":"retired"}"#, headers: Self.admin)
                let solo = try await h.chat(#"{"model":"solo","messages":[{"role":"user","content":"x"}]}"#, headers: Self.app)
                #expect(solo.json["error"]?["message"]?.stringValue?.contains("retired") == true)
            }
        }
    }

    @Test func badKillRequestsSayWhatIsWrong() async throws {
        try await Chain.with { c in
            try await Harness.with(config(c)) { h in
                func post(_ body: String, headers: [String: String] = Self.admin) async throws -> HTTPResult {
                    try await h.request(.POST, "/admin/kill", body: body, headers: headers)
                }
                let noReason = try await post(#"{"purpose":"triage"}"#)
                #expect(noReason.status == 400)
                #expect(noReason.json["error"]?["message"]?.stringValue?.contains("reason is required") == true)
                let two = try await post(#"{"purpose":"a","provider":"primary","reason":"x"}"#)
                #expect(two.status == 400)
                #expect(two.json["error"]?["message"]?.stringValue?.contains("exactly one") == true)
                let ghost = try await post(#"{"provider":"ghost","reason":"x"}"#)
                #expect(ghost.status == 400)
                #expect(ghost.json["error"]?["message"]?.stringValue?.contains("primary, backup") == true)
                let badModel = try await post(#"{"model":"nope","reason":"x"}"#)
                #expect(badModel.status == 400)
                let notJSON = try await post("purpose=triage")
                #expect(notJSON.status == 400)
                let typo = try await post(#"{"purpose":"a","reasn":"x"}"#)
                #expect(typo.json["error"]?["message"]?.stringValue?.contains("reasn") == true)
                let notAdmin = try await post(#"{"purpose":"a","reason":"x"}"#, headers: Self.app)
                #expect(notAdmin.status == 403)
                #expect(try await h.request(.GET, "/admin/audit", headers: Self.app).status == 403)
                #expect(try await h.request(.GET, "/admin/breakers", headers: Self.app).status == 403)
                #expect(try await h.request(.GET, "/admin/audit?limit=0", headers: Self.admin).status == 400)
                // Nothing half-done: no switch on, nothing audited.
                #expect(try await h.request(.GET, "/admin/audit", headers: Self.admin).json["data"]?.arrayValue?.isEmpty == true)
            }
        }
    }

    /// A switch whose provider has left the config (or was set by a node with another config) can still be removed.
    @Test func aSwitchOutsideTheConfigCanBeRemoved() async throws {
        try await Chain.with { c in
            try await Harness.with(config(c)) { h in
                let t = Date()
                try await h.gateway.store.setKill(
                    KillSwitch(scope: .provider, name: "retired", reason: "gone", actor: "bob", createdAt: t),
                    audit: AuditEntry(id: IDs.make("aud", at: t), at: t, actor: "bob", action: "kill", target: "provider:retired"))
                try await h.gateway.kills.reload()
                let off = try await h.request(.DELETE, "/admin/kill?provider=retired", headers: Self.admin)
                #expect(off.status == 200, "\(off.text)")
                #expect(h.gateway.kills.isEmpty)
                // Replacing a switch keeps the old one in the audit log.
                _ = try await h.request(.POST, "/admin/kill", body: #"{"purpose":"a","reason":"first"}"#, headers: Self.admin)
                _ = try await h.request(.POST, "/admin/kill", body: #"{"purpose":"a","reason":"second"}"#, headers: Self.admin)
                let latest = try await h.request(.GET, "/admin/audit?limit=1", headers: Self.admin).json["data"]?.arrayValue?.first
                #expect(latest?["old_value"]?["reason"]?.stringValue == "first")
                #expect(latest?["new_value"]?["reason"]?.stringValue == "second")
            }
        }
    }
}

