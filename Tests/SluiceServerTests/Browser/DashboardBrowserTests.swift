import Foundation
import SluiceCore
import SluiceTesting
import Testing

/// Every dashboard page in headless Chromium: the SVG charts are there, every
/// plotted value is the admin API's value, the figures in the tables match the
/// admin API, the call drill-down lists the attempts; screenshots land in
/// `.build/screenshots/dashboard-*.png`.
@Suite(.serialized) struct DashboardBrowserTests {
    static let admin = DashboardTests.admin

    static func yaml(_ upstream: FakeUpstream) -> String {
        DashboardTests.yaml(
            upstream, models: "  simm: { targets: [ { provider: sim, model: sim-large } ] }",
            purposes: "  classify: { model: fast, shadow: { model: simm, sample: 1.0 } }")
    }

    @Test(.enabled(if: HeadlessChromium.shouldRun, "needs chromium (apt-get install chromium)"))
    func everyPageRendersTheAdminAPIsNumbers() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        #expect(Self.yaml(upstream).contains("classify: { model: fast, shadow"))
        upstream.setDefault(.text(#"{"label":"bug"}"#, usage: Usage(inputTokens: 100, outputTokens: 20)))
        try await Harness.with(Self.yaml(upstream)) { h in
            let auth = ["Authorization": "Bearer \(Self.admin)"]
            let app = ["Authorization": "Bearer sk-app-dash-0123456789"]
            func chat(_ purpose: String, _ text: String, model: String = "fast") async throws -> HTTPResult {
                try await h.chat(#"{"model":"\#(model)","messages":[{"role":"user","content":"\#(text)"}]}"#, headers: app.merging(["X-Sluice-Purpose": purpose]) { a, _ in a })
            }
            for i in 0..<4 { _ = try await chat("triage", "t\(i % 3)") }
            upstream.enqueue(.status(500))
            _ = try await chat("triage", "boom")
            upstream.enqueue(.status(500))
            let fell = try await chat("summarize", "s", model: "dual")
            let fellID = try #require(fell.header("x-sluice-call-id"))
            for i in 0..<2 { #expect(try await chat("classify", "c\(i)").status == 200) }
            // Two end users, by the `user` field and by the header, and a runtime key for the keys page.
            for (user, n) in [("alice", 3), ("bob", 2)] {
                for i in 0..<n {
                    let r = try await h.chat(#"{"model":"fast","messages":[{"role":"user","content":"u\#(user)\#(i)"}]}"#, headers: app.merging(["X-Sluice-User": user]) { a, _ in a })
                    #expect(r.status == 200)
                }
            }
            let key = try await h.request(.POST, "/admin/keys", body: #"{"name":"reports","team":"data","rpm":30,"monthly_budget_usd":12}"#, headers: auth)
            #expect(key.status == 201)
            let task = try await h.request(.POST, "/v1/tasks", body: #"{"purpose":"summarize","request":{"model":"dual","messages":[{"role":"user","content":"task"}]}}"#, headers: app)
            #expect(task.status == 202)
            // The shadow runs and the task finish in the background.
            for _ in 0..<100 {
                let shadow = try await h.request(.GET, "/admin/shadow/classify", headers: auth).json
                let done = try await h.request(.GET, "/v1/tasks?status=succeeded", headers: auth).json
                if shadow["pairs"]?.intValue == 2, done["data"]?.arrayValue?.count == 1 { break }
                try await Task.sleep(for: .milliseconds(100))
            }

            try await exclusively {
                // Overview: charts plot the JSON, spend today is the cost summary's.
                let overview = try await Self.page(h, "overview", "/")
                let costs = try await h.request(.GET, "/admin/cost-summary", headers: auth).json
                for p in costs["by_purpose"]?.arrayValue ?? [] {
                    let name = p["purpose"]?.stringValue ?? ""
                    #expect(Self.figure(overview.dom, "spend_today_usd", purpose: name) == p["today_usd"]?.doubleValue, "\(name)")
                }
                for chart in ["spend-by-day", "calls-by-day", "error-rate-by-day"] {
                    let key = chart.replacingOccurrences(of: "-", with: "_")
                    try Self.expectChart(overview.dom, id: chart, labels: overview.json["days"], series: overview.json[key])
                }
                #expect(Self.figure(overview.dom, "calls_today", purpose: "triage") == 5)

                let latency = try await Self.page(h, "latency", "/latency")
                for p in latency.json["purposes"]?.arrayValue ?? [] {
                    let name = p["purpose"]?.stringValue ?? ""
                    let hourly: JSON = .array(["p50", "p95", "p99"].map { ["purpose": .string($0), "values": p["hourly_\($0)_ms"] ?? .null] })
                    try Self.expectChart(latency.dom, id: "latency-hourly-\(name)", labels: latency.json["hours"], series: hourly)
                    #expect(Self.figure(latency.dom, "p95_24h_ms", purpose: name) == p["p95_24h_ms"]?.doubleValue)
                }

                let cache = try await Self.page(h, "cache", "/cache")
                try Self.expectChart(cache.dom, id: "hit-rate-by-day", labels: cache.json["days"], series: cache.json["hit_rate_by_day"])
                try Self.expectChart(cache.dom, id: "saved-by-day", labels: cache.json["days"], series: cache.json["saved_by_day"])
                // t0 and t1 were asked twice and once more; the third and fourth triage calls were hits.
                #expect(Self.figure(cache.dom, "hits_30d", purpose: "triage") == 1)

                let quality = try await Self.page(h, "quality", "/quality")
                let qp = quality.json["purposes"]?.arrayValue ?? []
                let schema: JSON = .array(qp.map { ["purpose": $0["purpose"] ?? .null, "values": $0["schema_valid_rate_by_day"] ?? .null] })
                try Self.expectChart(quality.dom, id: "schema-valid-by-day", labels: quality.json["days"], series: schema)
                #expect(DOM(quality.dom).element(id: "feedback-by-day")?.tag == "svg")
                for p in qp {
                    let name = p["purpose"]?.stringValue ?? ""
                    let drift = try await h.request(.GET, "/admin/drift/\(name)?window=1d&baseline=7d", headers: auth).json
                    let shown = DOM(quality.dom).elements(class: "drift").first { $0["data-purpose"] == name }
                    let flags = (drift["flagged"]?.arrayValue ?? []).compactMap(\.stringValue)
                    #expect(shown.map { flags.isEmpty ? $0.text == "none" : $0.elements(tag: "li").map(\.text) == flags } == true, "\(name)")
                }

                let shadows = try await Self.page(h, "shadows", "/shadows")
                let report = try await h.request(.GET, "/admin/shadow/classify", headers: auth).json
                // A shadow still running when the next call comes is skipped (max_concurrency), so count what ran.
                #expect((report["pairs"]?.intValue ?? 0) >= 1)
                #expect(Self.figure(shadows.dom, "pairs", purpose: "classify") == report["pairs"]?.doubleValue)
                #expect(Self.figure(shadows.dom, "agreement_rate", purpose: "classify") == report["agreement"]?["rate"]?.doubleValue)
                #expect(Self.figure(shadows.dom, "shadow_calls", purpose: "classify") == report["shadow"]?["calls"]?.doubleValue)
                #expect(DOM(shadows.dom).element(id: "shadow-latency-classify")?.elements(class: "mark").count == 4)
                #expect(DOM(shadows.dom).element(id: "shadow-latency-classify")?.elements(class: "mark").first?["data-value"].flatMap(Double.init)
                    == report["primary"]?["latency_ms"]?["p50"]?.doubleValue)

                let tasks = try await Self.page(h, "tasks", "/tasks")
                let succeeded = try await h.request(.GET, "/v1/tasks?status=succeeded", headers: auth).json["data"]?.arrayValue?.count
                #expect(Self.figure(tasks.dom, "tasks_succeeded") == succeeded.map(Double.init))
                let bar = DOM(tasks.dom).element(id: "tasks-by-status")?.elements(class: "mark").first { $0["data-x"] == "succeeded" }
                #expect(bar?["data-value"].flatMap(Double.init) == 1)

                let calls = try await Self.page(h, "calls", "/calls")
                let listed = DOM(calls.dom).elements(class: "call").compactMap(\.text)
                let api = try await h.request(.GET, "/admin/calls?limit=50", headers: auth).json["data"]?.arrayValue?.compactMap { $0["call_id"]?.stringValue }
                #expect(listed == api)
                let latencyBars = DOM(calls.dom).element(id: "calls-latency")?.elements(class: "mark") ?? []
                let apiCalls = calls.json["calls"]?.arrayValue ?? []
                #expect(latencyBars.count == apiCalls.count)
                for c in apiCalls {
                    let bar = latencyBars.first { $0["data-x"] == c["call_id"]?.stringValue }
                    #expect(bar?["data-value"].flatMap(Double.init) == c["latency_ms"]?.doubleValue)
                    #expect(bar?["data-series"] == c["status"]?.stringValue)
                }

                // Users: every figure is the cost summary's, the charts plot it; keys: the admin API's list.
                let users = try await Self.page(h, "users", "/users")
                for w in users.json["windows"]?.arrayValue ?? [] {
                    let window = w["window"]?.stringValue ?? ""
                    let spenders = w["top_spenders"]?.arrayValue ?? []
                    #expect(spenders.compactMap { $0["user"]?.stringValue } == ["alice", "bob"], "\(window) \(spenders)")
                    for u in spenders + (w["slowest"]?.arrayValue ?? []) {
                        let name = u["user"]?.stringValue ?? ""
                        for metric in ["cost_usd", "calls", "p50_ms", "p95_ms", "p99_ms"] {
                            let shown = DOM(users.dom).elements(withAttribute: "data-metric", equalTo: metric)
                                .first { $0["data-user"] == name && $0["data-window"] == window }.flatMap { $0["data-value"] }.flatMap(Double.init)
                            #expect(shown == u[metric]?.doubleValue, "\(window) \(name) \(metric)")
                        }
                    }
                    let labels: JSON = .array(spenders.map { $0["user"] ?? .null })
                    try Self.expectChart(users.dom, id: "spend-by-user-\(window)", labels: labels,
                                         series: [["purpose": "spend", "values": .array(spenders.map { $0["cost_usd"] ?? .null })]])
                    let slowest = w["slowest"]?.arrayValue ?? []
                    let latencySeries: JSON = [["purpose": "p95", "values": .array(slowest.map { $0["p95_ms"] ?? .null })]]
                    try Self.expectChart(users.dom, id: "latency-by-user-\(window)", labels: .array(slowest.map { $0["user"] ?? .null }), series: latencySeries)
                }
                let summary = try await h.request(.GET, "/admin/cost-summary?by=user&sort=p95", headers: auth).json
                let slowestDay = users.json["windows"]?.arrayValue?.first?["slowest"]?.arrayValue ?? []
                #expect(slowestDay == (summary["groups"]?.arrayValue ?? []).filter { !($0["user"]?.isNull ?? true) }, "\(summary)")

                let keys = try await Self.page(h, "keys", "/keys")
                let apiKeys = try await h.request(.GET, "/admin/keys", headers: auth).json["data"]?.arrayValue ?? []
                let keyRows = try #require(DOM(keys.dom).element(id: "keys")).elements(tag: "tr").dropFirst()
                #expect(keyRows.map { $0.elements(tag: "td").first?.text } == apiKeys.map { $0["name"]?.stringValue }, "\(apiKeys)")
                #expect(keyRows.map { $0.elements(tag: "td")[5].text } == apiKeys.map { $0["status"]?.stringValue })
                let reportsID = key.json["id"]?.stringValue ?? ""
                #expect(DOM(keys.dom).elements(withAttribute: "data-metric", equalTo: "rpm").first { $0["data-key"] == reportsID }?["data-value"] == "30.0")
                #expect(Self.figure(keys.dom, "keys_active") == 2)
                #expect(!keys.dom.contains(key.json["key"]?.stringValue ?? "no secret"))

                // The drill-down of the call that fell back shows both attempts, as the admin API has them.
                let one = try await HeadlessChromium.load(url: h.base + "/calls/\(fellID)?key=\(Self.admin)", screenshot: "dashboard-call")
                let record = try await h.request(.GET, "/admin/calls/\(fellID)", headers: auth).json
                let rows = try #require(DOM(one.dom).element(id: "attempts")).elements(tag: "tr").dropFirst()
                let attempts = record["attempts"]?.arrayValue ?? []
                #expect(rows.count == 2 && attempts.count == 2, "\(rows.map(\.outerHTML)) \(attempts)")
                for (row, a) in zip(rows, attempts) {
                    let cells = row.elements(tag: "td").map(\.text)
                    #expect(cells[1] == a["provider"]?.stringValue && cells[2] == a["model"]?.stringValue, "\(cells)")
                }
                let attemptBars = DOM(one.dom).element(id: "attempts-latency")?.elements(class: "mark") ?? []
                #expect(attemptBars.compactMap { $0["data-value"].flatMap(Double.init) } == attempts.compactMap { $0["latency_ms"]?.doubleValue })
                #expect(DOM(one.dom).elements(withAttribute: "data-field", equalTo: "cost_usd").first?.elements(class: "num").first?["data-value"]
                    .flatMap(Double.init) == record["cost_usd"]?.doubleValue)
            }
        }
    }

    /// A page's JSON (which flushes the call log) and then its DOM in Chromium, with a screenshot.
    static func page(_ h: Harness, _ name: String, _ path: String) async throws -> (json: JSON, dom: String) {
        let json = try await h.request(.GET, "/admin/dashboard/\(name)", headers: ["Authorization": "Bearer \(admin)"]).json
        let page = try await HeadlessChromium.load(url: h.base + path + "?key=\(admin)", screenshot: "dashboard-\(name)")
        #expect(DOM(page.dom).element(tag: "body")?["data-page"] == name)
        return (json, page.dom)
    }

    /// The `data-value` of the figure named `metric` (for `purpose`).
    static func figure(_ dom: String, _ metric: String, purpose: String? = nil) -> Double? {
        DOM(dom).elements(withAttribute: "data-metric", equalTo: metric).first { purpose == nil || $0["data-purpose"] == purpose }
            .flatMap { $0["data-value"] }.flatMap(Double.init)
    }

    /// The chart `id` is an SVG whose marks are exactly the JSON series' known values.
    static func expectChart(_ dom: String, id: String, labels: JSON?, series: JSON?, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let svg = try #require(DOM(dom).element(id: id), "no chart \(id)", sourceLocation: sourceLocation)
        #expect(svg.tag == "svg", sourceLocation: sourceLocation)
        let marks = svg.elements(class: "mark")
        let xs = (labels?.arrayValue ?? []).compactMap(\.stringValue)
        var expected = 0
        for s in series?.arrayValue ?? [] {
            let name = s["purpose"]?.stringValue ?? ""
            for (i, v) in (s["values"]?.arrayValue ?? []).enumerated() {
                guard let value = v.doubleValue else { continue }
                expected += 1
                let mark = marks.first { $0["data-series"] == name && $0["data-x"] == xs[i] }
                #expect(mark?["data-value"].flatMap(Double.init) == value, "\(id) \(name) \(xs[i])", sourceLocation: sourceLocation)
            }
        }
        #expect(marks.count == expected, "\(id): \(marks.count) marks for \(expected) values", sourceLocation: sourceLocation)
    }
}
