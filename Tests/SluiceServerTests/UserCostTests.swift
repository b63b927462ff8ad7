import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// Per-user visibility: `GET /admin/cost-summary?by=user` with spend, calls and exact p50/p95/p99
/// latency per end user, its `sort` and `limit`, and the dashboard's users and keys pages as JSON.
@Suite struct UserCostTests {
    static let admin = ["Authorization": "Bearer \(DashboardTests.admin)"]
    static let app = ["Authorization": "Bearer sk-app-dash-0123456789"]
    /// Bob's upstream answers this much later than Alice's.
    static let slowMs = 1_500

    /// Alice (the `user` field) makes 5 fast calls with many tokens; Bob (`X-Sluice-User`) makes 4 slow
    /// calls, one of them failing; one call has no end user.
    static func makeCalls(_ h: Harness, _ upstream: FakeUpstream) async throws {
        for i in 0..<5 {
            upstream.enqueue(.text("a\(i)", usage: Usage(inputTokens: 1_000, outputTokens: 200)))
            let r = try await h.chat(#"{"model":"fast","user":"alice","messages":[{"role":"user","content":"a\#(i)"}]}"#, headers: app)
            #expect(r.status == 200)
        }
        for i in 0..<4 {
            var slow = FakeUpstream.Reply.text("b\(i)")
            slow.delayMs = slowMs
            if i == 3 { slow = .status(400, message: "bad request for bob") }
            upstream.enqueue(slow)
            let r = try await h.chat(#"{"model":"fast","messages":[{"role":"user","content":"b\#(i)"}]}"#, headers: app.merging(["X-Sluice-User": "bob"]) { a, _ in a })
            #expect(i == 3 ? r.status >= 400 : r.status == 200, "\(r.text)")
        }
        upstream.enqueue(.text("anon"))
        #expect(try await h.chat(#"{"model":"fast","messages":[{"role":"user","content":"nobody"}]}"#, headers: app).status == 200)
    }

    @Test func costSummaryByUserShowsSpendCallsAndOrderedPercentiles() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        try await Harness.with(DashboardTests.yaml(upstream)) { h in
            try await Self.makeCalls(h, upstream)
            let summary = try await h.request(.GET, "/admin/cost-summary?by=user", headers: Self.admin)
            #expect(summary.status == 200, "\(summary.text)")
            let s = summary.json
            #expect(s["by"] == "user" && s["sort"] == "cost" && s["limit"] == 50 && s["groups_total"] == 3, "\(s)")
            let groups = s["groups"]?.arrayValue ?? []
            #expect(groups.map { $0["user"] } == ["alice", "bob", .null], "\(groups)")
            let alice = try #require(groups.first { $0["user"] == "alice" })
            let bob = try #require(groups.first { $0["user"] == "bob" })
            // Alice: 5 × (1000 in + 200 out) at $1/$2 per million; Bob: 3 answered × (11 in + 7 out), the failure costs nothing.
            #expect(abs((alice["cost_usd"]?.doubleValue ?? 0) - 5 * 0.0014) < 1e-9, "\(alice)")
            #expect(abs((bob["cost_usd"]?.doubleValue ?? 0) - 3 * 0.000025) < 1e-9, "\(bob)")
            #expect(alice["calls"] == 5 && alice["logged_calls"] == 5 && bob["calls"] == 3 && bob["logged_calls"] == 4, "\(groups)")
            #expect(alice["input_tokens"] == 5_000 && alice["output_tokens"] == 1_000)

            // The percentiles are the nearest-rank values of each user's logged latencies.
            let calls = try await h.request(.GET, "/admin/calls?limit=50", headers: Self.admin).json["data"]?.arrayValue ?? []
            #expect(calls.count == 10)
            for (name, g) in [("alice", alice), ("bob", bob)] {
                let latencies = calls.filter { $0["user"]?.stringValue == name }.compactMap { $0["latency_ms"]?.doubleValue }
                let want = try #require(GroupLatency.of(latencies, group: name))
                for (field, value) in [("p50_ms", want.p50Ms), ("p95_ms", want.p95Ms), ("p99_ms", want.p99Ms)] {
                    #expect(abs((g[field]?.doubleValue ?? -1) - value) < 0.01, "\(name) \(field) \(g) \(latencies)")
                }
                let (p50, p95, p99) = (g["p50_ms"]?.doubleValue ?? 0, g["p95_ms"]?.doubleValue ?? 0, g["p99_ms"]?.doubleValue ?? 0)
                #expect(p50 > 0 && p50 <= p95 && p95 <= p99, "\(name) \(g)")
            }
            // Bob's answered calls waited for the slow upstream; his median is one of them.
            #expect((bob["p50_ms"]?.doubleValue ?? 0) >= Double(Self.slowMs), "\(bob)")
            #expect((alice["p99_ms"]?.doubleValue ?? .infinity) < (bob["p50_ms"]?.doubleValue ?? 0), "\(alice) \(bob)")

            // sort=p95: the slowest first; limit cuts but groups_total still counts every group.
            let slow = try await h.request(.GET, "/admin/cost-summary?by=user&sort=p95&limit=1", headers: Self.admin).json
            #expect(slow["groups"]?.arrayValue?.map { $0["user"] } == ["bob"] && slow["groups_total"] == 3 && slow["sort"] == "p95", "\(slow)")
            let top = try await h.request(.GET, "/admin/cost-summary?by=user&sort=cost&limit=2", headers: Self.admin).json
            #expect(top["groups"]?.arrayValue?.map { $0["user"] } == ["alice", "bob"], "\(top)")
            // by=key is served by the same code: the one key's calls, all ten.
            let keys = try await h.request(.GET, "/admin/cost-summary?by=key", headers: Self.admin).json
            #expect(keys["groups"]?.arrayValue?.first?["key"] == "app" && keys["groups"]?.arrayValue?.first?["logged_calls"] == 10, "\(keys)")

            // Bad values are 400s that name the parameter and what it takes.
            for (query, param, words) in [
                ("by=user&sort=slowest", "sort", "cost, p95"), ("by=user&limit=0", "limit", "1 to 1000"),
                ("by=user&limit=ten", "limit", "1 to 1000"), ("by=users", "by", "user"),
            ] {
                let bad = try await h.request(.GET, "/admin/cost-summary?\(query)", headers: Self.admin)
                #expect(bad.status == 400, "\(query) \(bad.text)")
                #expect(bad.json["error"]?["param"]?.stringValue == param && bad.text.contains(words), "\(query) \(bad.text)")
            }
        }
    }

    /// The users page's JSON lists the same users with the same numbers as the cost summary (calls
    /// without a user left out); the keys page's JSON is `GET /admin/keys`; neither page shows a secret,
    /// and user-controlled strings are escaped.
    @Test func usersAndKeysPagesShowTheAdminAPIsNumbers() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        try await Harness.with(DashboardTests.yaml(upstream)) { h in
            try await Self.makeCalls(h, upstream)
            upstream.enqueue(.text("x"))
            let evil = "<script>alert(1)</script>"
            let evilCall = try await h.chat(#"{"model":"fast","user":"\#(evil)","messages":[{"role":"user","content":"x"}]}"#, headers: Self.app)
            #expect(evilCall.status == 200, "\(evilCall.text)")

            let users = try await h.request(.GET, "/admin/dashboard/users", headers: Self.admin)
            #expect(users.status == 200, "\(users.text)")
            let day = try #require(users.json["windows"]?.arrayValue?.first { $0["window"] == "24h" })
            let summary = try await h.request(.GET, "/admin/cost-summary?by=user&since=24h&limit=10", headers: Self.admin).json
            let named = (summary["groups"]?.arrayValue ?? []).filter { !($0["user"]?.isNull ?? true) }
            #expect(day["top_spenders"]?.arrayValue == named, "\(day) \(named)")
            #expect(day["users"] == 3)
            #expect(day["slowest"]?.arrayValue?.first?["user"] == "bob")
            #expect(users.json["windows"]?.arrayValue?.count == 2)

            let page = try await h.request(.GET, "/users?key=\(DashboardTests.admin)")
            #expect(page.status == 200)
            #expect(page.text.contains("data-page=\"users\"") && page.text.contains(#"<a href="/users""#) && page.text.contains(#"<a href="/keys""#))
            #expect(!page.text.contains(evil) && page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(page.text.contains(#"data-metric="p95_ms" data-user="bob" data-window="24h""#), "\(page.text)")

            // Keys: a runtime key (created with an unsafe name), one revoked, and the config key.
            let body = #"{"name":"<img src=x>","team":"growth","purposes":["triage"],"rpm":60,"daily_budget_usd":2.5,"expires_at":"30d"}"#
            let created = try await h.request(.POST, "/admin/keys", body: body, headers: Self.admin)
            #expect(created.status == 201, "\(created.text)")
            let secret = try #require(created.json["key"]?.stringValue)
            let gone = try await h.request(.POST, "/admin/keys", body: #"{"name":"old"}"#, headers: Self.admin)
            let goneID = try #require(gone.json["id"]?.stringValue)
            #expect(try await h.request(.DELETE, "/admin/keys/\(goneID)", headers: Self.admin).status == 200)

            let keys = try await h.request(.GET, "/admin/dashboard/keys", headers: Self.admin).json
            let listed = try await h.request(.GET, "/admin/keys", headers: Self.admin).json
            #expect(keys["keys"] == listed["data"], "\(keys)")
            #expect(keys["counts"]?["active"] == 2 && keys["counts"]?["revoked"] == 1 && keys["config_keys"] == 1, "\(keys)")
            let keysPage = try await h.request(.GET, "/keys?key=\(DashboardTests.admin)")
            #expect(keysPage.status == 200 && keysPage.text.contains("data-page=\"keys\""))
            #expect(!keysPage.text.contains(secret) && !keys.jsonString.contains(secret))
            #expect(!keysPage.text.contains("sk-app-dash-0123456789") && !keysPage.text.contains("key_hash"))
            #expect(!keysPage.text.contains("<img src=x>") && keysPage.text.contains("&lt;img src=x&gt;"))
            #expect(keysPage.text.contains("growth") && keysPage.text.contains(">revoked<"), "\(keysPage.text)")
        }
    }
}
