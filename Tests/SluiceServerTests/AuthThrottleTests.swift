import Foundation
import SluiceCore
import SluiceTesting
import Testing

@testable import SluiceEngine

/// Repeated failed authentications (different keys) from one address are slowed: `429` with `Retry-After`.
@Suite struct AuthThrottleTests {
    @Test func anAddressThatKeepsFailingIsSlowedForTheRestOfTheMinute() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let yaml = """
            server: { auth_failures_per_minute: 3 }
            auth:
              admin_key: admin-secret-123
              keys: [ { name: app, key: app-secret-123 } ]
            providers:
              up: { type: openai_compatible, base_url: "\(upstream.baseURL)" }
            models:
              fast: { targets: [ { provider: up, model: m } ] }
            """
        let clock = ManualClock(Date(timeIntervalSince1970: 1_795_000_000))
        let body = #"{"model":"fast","messages":[{"role":"user","content":"hi"}]}"#
        try await Harness.with(yaml, clock: clock) { h in
            // The same wrong key again and again (a misconfigured client) counts once.
            for _ in 0..<5 {
                #expect(try await h.chat(body, headers: ["Authorization": "Bearer stale-key-xxxxxxxx"]).status == 401)
            }
            for guess in 0..<2 {
                let r = try await h.chat(body, headers: ["Authorization": "Bearer guess-\(guess)-xxxxxxxx"])
                #expect(r.status == 401)
            }
            // Slowed: a failing key now gets 429 for the rest of the minute, on admin routes too.
            let slowed = try await h.chat(body, headers: ["Authorization": "Bearer guess-9-xxxxxxxx"])
            #expect(slowed.status == 429)
            #expect(slowed.json["error"]?["code"] == "rate_limited")
            #expect(slowed.json["error"]?["message"]?.stringValue?.contains("Too many failed authentications from 127.0.0.1") == true)
            #expect(slowed.header("Retry-After") == "60")
            #expect(try await h.request(.GET, "/admin/audit", headers: ["Authorization": "Bearer wrong-admin-xxxx"]).status == 429)
            // Valid keys from the same address (other clients behind one proxy) go on.
            #expect(try await h.chat(body, headers: ["Authorization": "Bearer app-secret-123"]).status != 429)
            #expect(try await h.request(.GET, "/admin/audit", headers: ["Authorization": "Bearer admin-secret-123"]).status == 200)
            // Health stays open.
            #expect(try await h.request(.GET, "/healthz").status == 200)
            clock.advance(45)
            #expect(try await h.chat(body, headers: ["Authorization": "Bearer guess-9-xxxxxxxx"]).header("Retry-After") == "15")
            clock.advance(16)
            #expect(try await h.chat(body, headers: ["Authorization": "Bearer guess-9-xxxxxxxx"]).status == 401)
        }
    }

    @Test func theWindowForgetsOldFailures() {
        let t0 = Date(timeIntervalSince1970: 1_000)
        var w = AuthFailureWindow()
        w.fail(limit: 2, now: t0, key: "a")
        w.fail(limit: 2, now: t0, key: "a")
        #expect(w.wait(limit: 2, now: t0) == nil)
        w.fail(limit: 2, now: t0.addingTimeInterval(59), key: "b")
        #expect(w.wait(limit: 2, now: t0.addingTimeInterval(59)) == 1)
        #expect(w.wait(limit: 2, now: t0.addingTimeInterval(60)) == nil)
        w.fail(limit: 2, now: t0.addingTimeInterval(61), key: "c")
        #expect(w.failures.count == 2 && w.wait(limit: 2, now: t0.addingTimeInterval(61)) == 58)
    }
}
