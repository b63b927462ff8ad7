import AsyncHTTPClient
import Foundation
import NIOCore
import SluiceCore
import SluiceTesting
import Testing

/// The dashboard over plain HTTP: who gets in, and that each page's numbers are
/// the admin API's numbers (the browser tests check the rendered DOM).
@Suite struct DashboardTests {
    static let admin = "sk-admin-dash-0123456789"

    /// The config, with `models` and `purposes` lines added to those blocks.
    static func yaml(_ upstream: FakeUpstream, models: String = "", purposes: String = "") -> String {
        """
        providers:
          up: { type: openai_compatible, base_url: "\(upstream.baseURL)", api_key: "sk-provider-secret-123" }
          sim: { type: simulated }
        models:
          fast:
            targets:
              - { provider: up, model: gpt-4o-mini-2024-07-18 }
          dual:
            targets:
              - { provider: up, model: gpt-4o-mini-2024-07-18 }
              - { provider: sim, model: sim-small, priority: 2 }
        \(models)
        auth: { admin_key: "\(admin)", keys: [ { name: app, key: sk-app-dash-0123456789 } ] }
        pricing:
          gpt-4o-mini-2024-07-18: { input: 1.0, output: 2.0 }
        purposes:
          triage: { model: fast, daily_budget_usd: 2.0, cache: { ttl: 1h } }
          summarize: { model: dual }
        \(purposes)
        \(noRetry)
        """
    }

    @Test func theAdminKeyGetsInAndNothingElseDoes() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        try await Harness.with(Self.yaml(upstream)) { h in
            let anon = try await h.request(.GET, "/")
            #expect(anon.status == 401)
            #expect(anon.text.contains("<form method=\"post\" action=\"/login\""))
            #expect(try await h.request(.GET, "/latency?key=sk-app-dash-0123456789").status == 401)
            #expect(try await h.request(.GET, "/admin/dashboard/overview").status == 403)
            #expect(try await h.request(.GET, "/admin/dashboard/nope", headers: ["Authorization": "Bearer \(Self.admin)"]).status == 404)

            // `?key=` lets a script in and hands out the session cookie.
            let byKey = try await h.request(.GET, "/cache?key=\(Self.admin)")
            #expect(byKey.status == 200)
            let cookie = try #require(byKey.header("set-cookie"))
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
            #expect(!cookie.contains(Self.admin))
            let session = String(cookie.split(separator: ";")[0])
            #expect(try await h.request(.GET, "/tasks", headers: ["Cookie": session]).status == 200)
            #expect(try await h.request(.GET, "/tasks", headers: ["Cookie": "sluice_session=forged"]).status == 401)

            // The login form: a wrong key is refused; the right one redirects to a local `next` only.
            let bad = try await Self.post(h, "/login", form: "key=nope&next=%2Fcalls")
            #expect(bad.status == 401)
            #expect(bad.text.contains("not the admin key"))
            let good = try await Self.post(h, "/login", form: "key=\(Self.admin)&next=%2Fcalls")
            #expect(good.status == 303, "\(good.text)")
            #expect(good.header("location") == "/calls")
            #expect(good.header("set-cookie")?.hasPrefix(session) == true)
            let offsite = try await Self.post(h, "/login", form: "key=\(Self.admin)&next=%2F%2Fevil.example")
            #expect(offsite.header("location") == "/")
            let out = try await Self.post(h, "/logout", form: "")
            #expect(out.header("set-cookie")?.contains("Max-Age=0") == true)
        }
    }

    /// A form POST that does not follow the redirect it gets back.
    static func post(_ h: Harness, _ path: String, form: String) async throws -> HTTPResult {
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        var req = HTTPClientRequest(url: h.base + path)
        req.method = .POST
        req.headers.add(name: "content-type", value: "application/x-www-form-urlencoded")
        req.body = .bytes(ByteBuffer(string: form))
        do {
            let res = try await client.execute(req, timeout: .seconds(30))
            let buf = try await res.body.collect(upTo: 1 << 20)
            try await client.shutdown()
            return HTTPResult(status: Int(res.status.code), headers: res.headers, body: Array(buf.readableBytesView))
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    @Test func pagesShowTheAdminAPIsNumbers() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("ok", usage: Usage(inputTokens: 100, outputTokens: 20)))
        try await Harness.with(Self.yaml(upstream)) { h in
            let auth = ["Authorization": "Bearer \(Self.admin)"]
            let app = ["Authorization": "Bearer sk-app-dash-0123456789"]
            for i in 0..<3 {
                let r = try await h.chat(simpleChat.replacingOccurrences(of: "hello", with: "t\(i % 2)"), headers: app.merging(["X-Sluice-Purpose": "triage"]) { a, _ in a })
                #expect(r.status == 200)
            }
            upstream.enqueue(.status(500))
            let fell = try await h.chat(#"{"model":"dual","messages":[{"role":"user","content":"s"}]}"#, headers: app.merging(["X-Sluice-Purpose": "summarize"]) { a, _ in a })
            #expect(fell.status == 200)
            upstream.enqueue(.status(500))
            let failed = try await h.chat(simpleChat.replacingOccurrences(of: "hello", with: "boom"), headers: app.merging(["X-Sluice-Purpose": "triage"]) { a, _ in a })
            #expect(failed.status == 502)

            let overview = try await h.request(.GET, "/admin/dashboard/overview", headers: auth).json
            let costs = try await h.request(.GET, "/admin/cost-summary", headers: auth).json
            let triage = try #require(overview["purposes"]?.arrayValue?.first { $0["purpose"]?.stringValue == "triage" })
            let triageCost = try #require(costs["by_purpose"]?.arrayValue?.first { $0["purpose"]?.stringValue == "triage" })
            #expect(triage["spend_today_usd"]?.doubleValue == triageCost["today_usd"]?.doubleValue)
            // Two upstream calls at (100 × 1 + 20 × 2) / 1e6; the third was a cache hit.
            #expect(abs((triage["spend_today_usd"]?.doubleValue ?? 0) - 0.00028) < 1e-12)
            #expect(triage["calls_today"]?.intValue == 4)
            #expect(triage["errors_today"]?.intValue == 1)
            #expect(triage["error_rate_today"]?.doubleValue == 0.25)
            #expect(triage["daily_budget_usd"]?.doubleValue == 2.0)
            let spendSeries = try #require(overview["spend_by_day"]?.arrayValue?.first { $0["purpose"]?.stringValue == "triage" })
            #expect(spendSeries["values"]?.arrayValue?.count == 30)
            #expect(abs((spendSeries["values"]?.arrayValue?.last?.doubleValue ?? 0) - 0.00028) < 1e-9)

            let cache = try await h.request(.GET, "/admin/dashboard/cache", headers: auth).json
            let triageCache = try #require(cache["purposes"]?.arrayValue?.first { $0["purpose"]?.stringValue == "triage" })
            #expect(triageCache["hits_30d"]?.intValue == 1)
            #expect(triageCache["hit_rate_30d"]?.doubleValue == 0.25)

            // The latency estimate lands within one 20 % bucket of the recorded latencies.
            let calls = try await h.request(.GET, "/admin/calls?purpose=summarize", headers: auth).json
            let recorded = try #require(calls["data"]?.arrayValue?.first?["latency_ms"]?.doubleValue)
            let latency = try await h.request(.GET, "/admin/dashboard/latency", headers: auth).json
            let summarize = try #require(latency["purposes"]?.arrayValue?.first { $0["purpose"]?.stringValue == "summarize" })
            let p50 = try #require(summarize["p50_24h_ms"]?.doubleValue)
            #expect(p50 >= recorded / 1.25 && p50 <= recorded * 1.25, "p50 \(p50) vs \(recorded)")

            // The drill-down lists both attempts of the call that fell back.
            let id = try #require(fell.header("x-sluice-call-id"))
            let page = try await h.request(.GET, "/calls/\(id)?key=\(Self.admin)")
            #expect(page.status == 200)
            #expect(page.text.components(separatedBy: "class=\"attempt\"").count == 3)
            #expect(page.text.contains("sim-small") && page.text.contains("gpt-4o-mini-2024-07-18"))
            #expect(try await h.request(.GET, "/calls/nope?key=\(Self.admin)").status == 404)
            let list = try await h.request(.GET, "/admin/dashboard/calls?purpose=triage&status=error", headers: auth).json
            #expect(list["calls"]?.arrayValue?.count == 1)
            #expect(try await h.request(.GET, "/admin/dashboard/calls?status=weird", headers: auth).status == 400)
            for path in ["/", "/latency", "/cache", "/quality", "/shadows", "/tasks", "/calls"] {
                let r = try await h.request(.GET, path + "?key=\(Self.admin)")
                #expect(r.status == 200, "\(path)")
                #expect(r.header("content-security-policy")?.contains("default-src 'none'") == true)
                #expect(!r.text.contains("<script"))
            }
        }
    }
}
