import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// Caps per end user and per team: they nest under the purpose's and the key's, and a
/// refusal names the cap that refused it.
@Suite struct EndUserCapTests {
    static let admin = ["Authorization": "Bearer admin-secret-123"]
    static let app = ["Authorization": "Bearer app-secret-123"]
    static let body = #"{"model":"fast","max_tokens":100,"messages":[{"role":"user","content":"hi"}],"user":"heavy"}"#

    static func config(_ upstream: FakeUpstream, extra: String) -> String {
        """
        auth:
          admin_key: admin-secret-123
          keys:
            - { name: app, key: app-secret-123, team: platform }
            - { name: ops, key: ops-secret-123, team: platform }
            - { name: solo, key: solo-secret-123 }
        providers:
          up: { type: openai_compatible, base_url: "\(upstream.baseURL)" }
        models:
          fast: { targets: [ { provider: up, model: priced-model } ] }
        pricing:
          priced-model: { input: 1, output: 10 }
        \(extra)
        \(noRetry)
        """
    }

    /// An end user over their daily cap gets `429 budget_exceeded` naming `end_user`, while other
    /// users of the same key pass; an override raises, blocks and clears, audited.
    @Test func anEndUserOverTheirCapIsRefusedAndOthersPass() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("ok", usage: BudgetTests.usage))
        let extra = "end_users: { daily_budget_usd: \(3.5 * BudgetTests.callCost), rpm: 100 }"
        try await Harness.with(Self.config(upstream, extra: extra)) { h in
            for _ in 0..<3 { #expect(try await h.chat(Self.body, headers: Self.app).status == 200) }
            let refused = try await h.chat(Self.body, headers: Self.app)
            #expect(refused.status == 429)
            let e = refused.json["error"]
            #expect(e?["code"] == "budget_exceeded")
            #expect(e?["cap"] == "end_user" && e?["cap_name"] == "heavy")
            #expect(e?["message"]?.stringValue?.contains("End user 'heavy' has reached its daily budget") == true, "\(refused.text)")
            #expect(refused.header("Retry-After") != nil)
            // Another user of the same key, by header this time.
            let light = #"{"model":"fast","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}"#
            #expect(try await h.chat(light, headers: Self.app.merging(["X-Sluice-User": "light"]) { $1 }).status == 200)

            // An operator raises the cap for this user: served again.
            let raised = try await h.request(.PUT, "/admin/end-users/heavy", body: #"{"daily_budget_usd": 1.0}"#, headers: Self.admin)
            #expect(raised.status == 200, "\(raised.text)")
            #expect(raised.json["limits"]?["daily_budget_usd"] == 1.0 && raised.json["limits"]?["rpm"] == 100)
            #expect(try await h.chat(Self.body, headers: Self.app).status == 200)
            // Blocked: a 403 that says why and how to undo it.
            let blocked = try await h.request(
                .PUT, "/admin/end-users/heavy", body: #"{"blocked": true, "reason": "scraping"}"#, headers: Self.admin)
            #expect(blocked.json["blocked"] == true)
            let denied = try await h.chat(Self.body, headers: Self.app)
            #expect(denied.status == 403 && denied.json["error"]?["message"]?.stringValue?.contains("scraping") == true, "\(denied.text)")
            await h.gateway.callLog.flush()
            let shown = try await h.request(.GET, "/admin/end-users/heavy", headers: Self.admin)
            #expect(abs((shown.json["today_usd"]?.doubleValue ?? 0) - 4 * BudgetTests.callCost) < 1e-9, "\(shown.text)")
            #expect(shown.json["override"]?["updated_by"] != nil)
            // Cleared: the defaults apply again (and this user has spent them).
            #expect(try await h.request(.DELETE, "/admin/end-users/heavy", headers: Self.admin).status == 200)
            #expect(try await h.chat(Self.body, headers: Self.app).json["error"]?["cap"] == "end_user")
            let audit = try await h.request(.GET, "/admin/audit", headers: Self.admin).json["data"]?.arrayValue ?? []
            #expect(audit.prefix(3).map { $0["action"]?.stringValue } == ["end_users.clear", "end_users.block", "end_users.set"])
            // Bad input is a 400 that names the field; without the admin key, a 401 or 403.
            let bad = try await h.request(.PUT, "/admin/end-users/heavy", body: #"{"rpm": -1}"#, headers: Self.admin)
            #expect(bad.status == 400 && bad.json["error"]?["param"] == "rpm")
            #expect(try await h.request(.PUT, "/admin/end-users/heavy", body: "{}", headers: Self.app).status >= 401)
        }
    }

    /// Two keys of one team share the team's daily budget; a key outside the team does not.
    @Test func keysOfATeamShareItsBudget() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("ok", usage: BudgetTests.usage))
        let extra = "teams:\n  platform: { daily_budget_usd: \(2.5 * BudgetTests.callCost) }"
        let body = #"{"model":"fast","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}"#
        try await Harness.with(Self.config(upstream, extra: extra)) { h in
            #expect(try await h.chat(body, headers: Self.app).status == 200)
            #expect(try await h.chat(body, headers: ["Authorization": "Bearer ops-secret-123"]).status == 200)
            let refused = try await h.chat(body, headers: Self.app)
            #expect(refused.status == 429 && refused.json["error"]?["cap"] == "team", "\(refused.text)")
            #expect(refused.json["error"]?["message"]?.stringValue?.contains("Team 'platform'") == true)
            #expect(refused.json["error"]?["message"]?.stringValue?.contains("teams.platform.daily_budget_usd") == true)
            #expect(try await h.chat(body, headers: ["Authorization": "Bearer solo-secret-123"]).status == 200)
        }
    }
}
