import Foundation
import SluiceCore
import SluiceEngine
import SluiceStore
import SluiceTesting
import Testing

/// The weekly review: a seeded week with a cost spike, a new error pattern and flagged outputs
/// is named in JSON, markdown and HTML (the dashboard page and the standalone page in headless
/// Chromium); bad parameters are 400s naming the parameter.
@Suite struct WeeklyReviewTests {
    static let now = Date(timeIntervalSince1970: 1_795_000_000)  // 2026-11-18 06:13 UTC
    static let admin = "admin-secret-review-1"
    static let auth = ["Authorization": "Bearer \(admin)"]
    static let newError = "upstream openai answered 503 for request req_8f3a2b1c9d: model 'gpt-4o' is overloaded, retry after 12s"

    static func call(_ id: String, purpose: String, daysAgo: Double, cost: Double, status: CallRecord.Status = .ok, error: String? = nil, http: Int = 200) -> CallRecord {
        let at = now.addingTimeInterval(-daysAgo * 86_400)
        var r = CallRecord(callID: IDs.callID(at: at) + "-" + id, createdAt: at, purpose: purpose, model: "fast")
        r.provider = "openai"
        r.answeredModel = "gpt-4o-2024-08-06"
        r.status = status
        r.error = error
        r.httpStatus = http
        r.usage = Usage(inputTokens: 200, outputTokens: 50)
        r.costUSD = status == .ok ? cost : nil
        r.latencyMs = 300 + Double(id.count * 10)
        return r
    }

    /// Two weeks of calls: `triage` steady, `summarize` spending 8× its previous week, a 502
    /// pattern seen only this week (three calls, three request ids), an old timeout pattern,
    /// two negative feedback items and one positive, and a kill switch.
    static func seed(_ store: any SluiceStore) async throws -> (spike: [String], flagged: [String], newErrors: [String]) {
        var calls: [CallRecord] = []
        for i in 0..<14 {
            calls.append(call("t\(i)", purpose: "triage", daysAgo: Double(i) + 0.1, cost: 0.01))
            calls.append(call("s\(i)", purpose: "summarize", daysAgo: Double(i) + 0.1, cost: i < 7 ? 0.08 : 0.01))
        }
        var newErrors: [String] = []
        for (i, (req, n)) in [("req_8f3a2b1c9d", 503), ("req_77aa01b2c3", 503), ("req_0d9e8f7a6b", 529)].enumerated() {
            let message = "upstream openai answered \(n) for request \(req): model 'gpt-4o' is overloaded, retry after \(12 + i)s"
            let c = call("e\(i)", purpose: "triage", daysAgo: 0.5 + Double(i), cost: 0, status: .error, error: message, http: 502)
            newErrors.append(c.callID)
            calls.append(c)
        }
        for (i, daysAgo) in [9.0, 10.0, 2.0].enumerated() {
            calls.append(call("o\(i)", purpose: "triage", daysAgo: daysAgo, cost: 0, status: .error, error: "deadline of 30000 ms passed", http: 504))
        }
        calls.append(call(
            "b0", purpose: "summarize", daysAgo: 0.2, cost: 0, status: .error,
            error: "Purpose summarize has reached its daily budget of $0.50 (UTC day 2026-11-17): $0.50 is spent. Raise purposes.summarize.daily_budget_usd to allow more.",
            http: 429))
        try await store.insert(calls)
        let spike = calls.filter { $0.purpose == "summarize" && $0.status == .ok && $0.createdAt > now.addingTimeInterval(-7 * 86_400) }.map(\.callID)
        let flagged = [spike[0], spike[1]]
        for (i, id) in flagged.enumerated() {
            try await store.addFeedback(Feedback(
                id: "fb_review_\(i)", callID: id, purpose: "summarize", score: -1, label: "wrong_summary", comment: "missed <the> point \(i)",
                createdAt: now.addingTimeInterval(-86_400 + Double(i))))
        }
        try await store.addFeedback(Feedback(id: "fb_review_ok", callID: spike[2], purpose: "summarize", score: 1, createdAt: now.addingTimeInterval(-3_600)))
        try await store.setKill(
            KillSwitch(scope: .provider, name: "openai", reason: "incident 42", actor: "ops", createdAt: now.addingTimeInterval(-7_200)),
            audit: AuditEntry(id: IDs.make("aud", at: now.addingTimeInterval(-7_200)), at: now.addingTimeInterval(-7_200), actor: "ops",
                              action: "kill", target: "provider:openai", reason: "incident 42"))
        return (spike, flagged, newErrors)
    }

    static let pattern = "upstream openai answered <n> for request <id>: model '…' is overloaded, retry after <n>s"

    @Test func aSeededWeekNamesTheSpikeTheNewErrorAndTheFlaggedOutputs() async throws {
        try await Harness.with("auth: { admin_key: \(Self.admin) }", clock: ManualClock(Self.now)) { h in
            let seeded = try await Self.seed(h.gateway.store)

            let r = try await h.request(.GET, "/admin/review?since=7d&format=json", headers: Self.auth)
            #expect(r.status == 200, "\(r.text)")
            let j = r.json
            #expect(j["object"] == "weekly_review")
            // The spike is the biggest mover: $0.56 this week against $0.07.
            let mover = try #require(j["biggest_movers"]?.arrayValue?.first)
            #expect(mover["purpose"] == "summarize")
            #expect(mover["ratio"]?.doubleValue == 8)
            #expect(abs((mover["current_usd"]?.doubleValue ?? 0) - 0.56) < 1e-9 && abs((mover["previous_usd"]?.doubleValue ?? 0) - 0.07) < 1e-9)
            #expect(j["purposes"]?.arrayValue?.first?["purpose"] == "summarize")
            let triage = try #require(j["purposes"]?.arrayValue?.first { $0["purpose"] == "triage" })
            #expect(triage["current"]?["errors"]?.doubleValue == 4 && triage["current"]?["calls"]?.doubleValue == 11)
            #expect(triage["current"]?["p99_ms"]?.doubleValue != nil)
            // The new error pattern: three calls with different ids, one group, marked new; the old timeout is not new.
            let patterns = j["error_patterns"]?.arrayValue ?? []
            let new = try #require(patterns.first { $0["pattern"]?.stringValue == Self.pattern }, "\(patterns)")
            #expect(new["count"] == 3 && new["new"] == true && new["code"] == "upstream_error" && new["provider"] == "openai")
            #expect(new["example_call_id"]?.stringValue == seeded.newErrors[0])
            #expect(new["first_seen"]?.stringValue == Timestamp.iso8601(Self.now.addingTimeInterval(-2.5 * 86_400)))
            #expect(new["links"]?["example"]?.stringValue == "/calls/\(seeded.newErrors[0])")
            let old = try #require(patterns.first { $0["code"] == "timeout" })
            #expect(old["count"] == 1 && old["new"] == false && old["pattern"] == "deadline of <n> ms passed")
            // The flagged outputs: the two negative items, linked to the drill-down; not the positive one.
            let flagged = j["flagged_outputs"]?.arrayValue ?? []
            #expect(Set(flagged.compactMap { $0["call_id"]?.stringValue }) == Set(seeded.flagged))
            #expect(flagged.allSatisfy { $0["links"]?["call"]?.stringValue == "/calls/\($0["call_id"]?.stringValue ?? "")" })
            // Events: the kill switch from the audit log; breaker openings said to be unrecorded.
            #expect(j["budget_trips"]?.arrayValue?.map { $0["purpose"] } == ["summarize"])
            #expect(j["budget_trips"]?.arrayValue?.first?["refused_calls"] == 1)
            #expect(j["events"]?["kill_switches"]?["count"] == 1)
            #expect(j["events"]?["breaker_openings"]?["recorded"] == false)

            let md = try await h.request(.GET, "/admin/review?format=md", headers: Self.auth)
            #expect(md.status == 200 && md.header("content-type")?.hasPrefix("text/markdown") == true)
            #expect(md.text.contains("## Biggest movers\n\n| purpose |"))
            #expect(md.text.contains("| summarize | $0.5600 | $0.0700 | $0.4900 | ×8 |"), "\(md.text)")
            #expect(md.text.contains(ReviewTextProbe.md(Self.pattern)) && md.text.contains("**new**"))
            for id in seeded.flagged { #expect(md.text.contains("[\(ReviewTextProbe.md(id))](/calls/\(id))")) }
            #expect(md.text.contains("Breaker openings: not recorded"))
            #expect(md.text.contains("- Budget trip: **summarize** refused 1 call"))

            let html = try await h.request(.GET, "/admin/review?format=html", headers: Self.auth)
            #expect(html.status == 200 && html.header("content-type")?.hasPrefix("text/html") == true)
            #expect(html.text.contains("missed &lt;the&gt; point 0") && !html.text.contains("<the>"))

            for (query, param) in [("since=soon", "since"), ("since=1m", "since"), ("format=pdf", "format")] {
                let bad = try await h.request(.GET, "/admin/review?\(query)", headers: Self.auth)
                #expect(bad.status == 400 && bad.json["error"]?["param"]?.stringValue == param, "\(query): \(bad.text)")
            }
            #expect(try await h.request(.GET, "/admin/review").status == 403)
        }
    }

    @Test(.enabled(if: HeadlessChromium.shouldRun, "needs chromium (apt-get install chromium)"))
    func theReviewRendersInChromium() async throws {
        try await Harness.with("auth: { admin_key: \(Self.admin) }", clock: ManualClock(Self.now)) { h in
            let seeded = try await Self.seed(h.gateway.store)
            let standalone = try await h.request(.GET, "/admin/review?format=html", headers: Self.auth).text
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-review-\(UUID().uuidString).html")
            try standalone.write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            try await exclusively {
                for (url, shot) in [(file.absoluteString, "review-standalone"), (h.base + "/review?key=\(Self.admin)", "dashboard-review")] {
                    let dom = DOM(try await HeadlessChromium.load(url: url, screenshot: shot).dom)
                    let movers = try #require(dom.element(id: "movers"), "\(url)")
                    #expect(movers.elements(tag: "tr").dropFirst().first?.elements(tag: "td").first?.text == "summarize")
                    let patterns = try #require(dom.element(id: "error-patterns"))
                    let row = try #require(patterns.elements(tag: "tr").first { $0.text.contains(Self.pattern) }, "\(patterns.text)")
                    #expect(row.elements(class: "new").count == 1)
                    #expect(row.elements(tag: "a").first?["href"] == "/calls/\(seeded.newErrors[0])")
                    let flagged = try #require(dom.element(id: "flagged-outputs"))
                    let links = flagged.elements(tag: "a").compactMap { $0["href"] }
                    #expect(Set(links) == Set(seeded.flagged.map { "/calls/\($0)" }))
                    #expect(flagged.text.contains("missed <the> point 1"))
                }
                let page = DOM(try await HeadlessChromium.dom(url: h.base + "/review?key=\(Self.admin)"))
                #expect(page.element(tag: "body")?["data-page"] == "review")
                #expect(page.elements(tag: "a").contains { $0["href"] == "/review" && $0.classes.contains("on") })
            }
        }
    }
}

/// The markdown escaping the review uses, for expected strings.
enum ReviewTextProbe {
    static func md(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "|": out += "\\|"
            case "`", "*", "_", "[", "]", "<", ">": out += "\\\(c)"
            default: out.append(c)
            }
        }
        return out
    }
}
