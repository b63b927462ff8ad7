import Foundation
import SluiceCore
import SluiceTesting
import Testing

/// Two fake upstreams behind one model: `primary` first, `backup` at priority 2.
struct Chain {
    let primary: FakeUpstream
    let backup: FakeUpstream

    static func with(_ body: (Chain) async throws -> Void) async throws {
        let chain = Chain(primary: try await FakeUpstream.start(), backup: try await FakeUpstream.start())
        do { try await body(chain) } catch {
            await chain.stop()
            throw error
        }
        await chain.stop()
    }

    func stop() async {
        await primary.stop()
        await backup.stop()
    }

    /// Quick backoff (base 5 ms) so tests spend their time on what they test.
    func config(_ extra: String = "", retry: String = "retry: { max_attempts: 3, base_ms: 5, max_ms: 20 }") -> String {
        """
        providers:
          primary: { type: openai_compatible, base_url: "\(primary.baseURL)", api_key: "sk-primary-secret-1" }
          backup: { type: openai_compatible, base_url: "\(backup.baseURL)" }
        models:
          chain:
            targets:
              - { provider: primary, model: m-primary }
              - { provider: backup, model: m-backup, priority: 2 }
          solo:
            targets:
              - { provider: primary, model: m-primary }
        \(retry)
        \(extra)
        """
    }

    var counts: (Int, Int) { (primary.requestCount, backup.requestCount) }
}

let chainChat = #"{"model":"chain","messages":[{"role":"user","content":"hello"}]}"#
let chainStream = #"{"model":"chain","stream":true,"messages":[{"role":"user","content":"hello there friend"}]}"#

func elapsed(_ body: () async throws -> HTTPResult) async rethrows -> (HTTPResult, Double) {
    let t0 = ContinuousClock.now
    let r = try await body()
    return (r, (ContinuousClock.now - t0) / .milliseconds(1))
}

@Suite struct ResilienceTests {
    func statuses(_ rec: CallRecord) -> [Int?] { rec.attempts.map(\.status) }

    @Test func rateLimitThenSuccessIsRetried() async throws {
        try await Chain.with { c in
            c.primary.enqueue(.status(429, message: "Rate limit reached", headers: [("Retry-After", "0")]))
            try await Harness.with(c.config()) { h in
                let r = try await h.chat(chainChat)
                #expect(r.status == 200)
                #expect(r.header("X-Sluice-Attempts") == "2")
                #expect(r.header("X-Sluice-Provider") == "primary")
                let rec = try await h.record(r.header("X-Sluice-Call-Id"))
                #expect(statuses(rec) == [429, 200])
                #expect(rec.attempts.map(\.provider) == ["primary", "primary"])
                #expect(rec.attempts[0].error?.contains("Rate limit reached") == true)
                #expect(rec.status == .ok)
                #expect(c.counts == (2, 0))
            }
        }
    }

    @Test func retryAfterIsHonoured() async throws {
        try await exclusively {
            try await Chain.with { c in
                c.primary.enqueue(.status(503, message: "busy", headers: [("Retry-After", "1")]))
                // Without a deadline a Retry-After is honoured up to retry.max_ms.
                try await Harness.with(c.config(retry: "retry: { max_attempts: 3, base_ms: 5, max_ms: 2000 }")) { h in
                    let (r, ms) = try await elapsed { try await h.chat(chainChat) }
                    #expect(r.status == 200)
                    #expect(ms >= 950, "waited only \(ms) ms of a 1 s Retry-After")
                    #expect(c.counts == (2, 0))
                }
            }
        }
    }

    @Test(arguments: [500, 502, 503, 529])
    func serverErrorsFallBackToTheNextTarget(status: Int) async throws {
        try await Chain.with { c in
            c.primary.setDefault(.status(status, message: "primary down \(status)"))
            c.backup.setDefault(.text("from the backup"))
            try await Harness.with(c.config()) { h in
                let r = try await h.chat(chainChat)
                #expect(r.status == 200)
                #expect(r.json["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue == "from the backup")
                #expect(r.header("X-Sluice-Provider") == "backup")
                #expect(r.header("X-Sluice-Attempts") == "4")
                let rec = try await h.record(r.header("X-Sluice-Call-Id"))
                #expect(statuses(rec) == [status, status, status, 200])
                #expect(rec.attempts.map(\.provider) == ["primary", "primary", "primary", "backup"])
                #expect(rec.attempts.map(\.model) == ["m-primary", "m-primary", "m-primary", "m-backup"])
                #expect(rec.attempts.prefix(3).allSatisfy { $0.error?.contains("primary down") == true && $0.latencyMs > 0 })
                #expect(rec.provider == "backup")
                #expect(c.counts == (3, 1))
            }
        }
    }

    @Test func badRequestIsNeverRetriedNorFallenBack() async throws {
        try await Chain.with { c in
            c.primary.setDefault(.status(400, message: "Invalid value for 'temperature': must be at most 2."))
            try await Harness.with(c.config()) { h in
                let r = try await h.chat(chainChat)
                #expect(r.status == 400)
                #expect(r.json["error"]?["code"]?.stringValue == "invalid_request")
                #expect(r.json["error"]?["message"]?.stringValue?.contains("must be at most 2") == true)
                #expect(r.json["error"]?["upstream_status"]?.intValue == 400)
                let rec = try await h.record(r.header("X-Sluice-Call-Id"))
                #expect(statuses(rec) == [400])
                #expect(rec.httpStatus == 400)
                #expect(c.counts == (1, 0))
            }
        }
    }

    @Test func otherClientErrorsSkipToTheNextTargetWithoutRetry() async throws {
        try await Chain.with { c in
            c.primary.setDefault(.status(401, message: "Incorrect API key provided: sk-primary-secret-1"))
            try await Harness.with(c.config()) { h in
                let r = try await h.chat(chainChat)
                #expect(r.status == 200)
                let rec = try await h.record(r.header("X-Sluice-Call-Id"))
                #expect(statuses(rec) == [401, 200])
                #expect(rec.attempts[0].error?.contains("sk-primary-secret-1") == false)
                #expect(c.counts == (1, 1))
            }
        }
    }

    @Test func connectionResetAndTruncatedBodyAreRetried() async throws {
        try await Chain.with { c in
            c.primary.enqueue(.reset, .truncated)
            try await Harness.with(c.config()) { h in
                let r = try await h.chat(chainChat)
                #expect(r.status == 200)
                let rec = try await h.record(r.header("X-Sluice-Call-Id"))
                #expect(statuses(rec) == [nil, nil, 200])
                #expect(rec.attempts[0].error?.isEmpty == false)
                #expect(rec.attempts[1].error?.isEmpty == false)
                #expect(c.counts == (3, 0))
            }
        }
    }

    @Test func garbage200IsRetried() async throws {
        try await Chain.with { c in
            c.primary.enqueue(.raw("<html>502 Bad Gateway</html>"))
            try await Harness.with(c.config()) { h in
                let r = try await h.chat(chainChat)
                #expect(r.status == 200)
                let rec = try await h.record(r.header("X-Sluice-Call-Id"))
                #expect(statuses(rec) == [200, 200])
                #expect(rec.attempts[0].error?.contains("not a chat completion") == true)
                #expect(c.counts == (2, 0))
            }
        }
    }

    @Test func timeoutIs504WithinTheDeadline() async throws {
        try await exclusively {
            try await Chain.with { c in
                var slow = FakeUpstream.Reply.text("too late")
                slow.delayMs = 1_500
                c.primary.setDefault(slow)
                c.backup.setDefault(slow)
                try await Harness.with(c.config("purposes:\n  quick: { timeout_ms: 600 }")) { h in
                    let (r, ms) = try await elapsed { try await h.chat(chainChat, headers: ["X-Sluice-Purpose": "quick"]) }
                    #expect(r.status == 504)
                    #expect(r.json["error"]?["code"]?.stringValue == "timeout")
                    #expect(r.json["error"]?["message"]?.stringValue?.contains("timeout_ms (600 ms)") == true)
                    let rec = try await h.record(r.header("X-Sluice-Call-Id"))
                    // Sluice's own clock (arrival to answer) is the measure; the client's adds test-runner load.
                    // The slack covers a loaded 2-core CI machine; without the deadline the answer would take 1.5 s.
                    #expect(ms >= 590 && rec.latencyMs <= 900, "answered after \(rec.latencyMs) ms for a 600 ms deadline")
                    #expect(rec.httpStatus == 504)
                    #expect(rec.status == .error)
                    #expect(rec.attempts.count == 1)
                    #expect(rec.attempts[0].error?.contains("deadline") == true)
                    #expect(c.counts == (1, 0))
                }
            }
        }
    }

    @Test func longRetryAfterFailsAtTheDeadlineNotAfterIt() async throws {
        try await exclusively {
            try await Chain.with { c in
                c.primary.setDefault(.status(429, message: "slow down", headers: [("Retry-After", "30")]))
                try await Harness.with(c.config("purposes:\n  quick: { timeout_ms: 800 }")) { h in
                    let body = #"{"model":"solo","messages":[{"role":"user","content":"hello"}]}"#
                    let (r, ms) = try await elapsed { try await h.chat(body, headers: ["X-Sluice-Purpose": "quick"]) }
                    #expect(r.status == 504)
                    #expect(r.json["error"]?["message"]?.stringValue?.contains("Retry-After") == true)
                    let rec = try await h.record(r.header("X-Sluice-Call-Id"))
                    #expect(ms >= 780 && rec.latencyMs <= 1_100, "answered after \(rec.latencyMs) ms for an 800 ms deadline")
                    #expect(rec.attempts.count == 1)
                    #expect(c.counts == (1, 0))
                }
            }
        }
    }

    @Test func retriesNeverExceedTheDeadline() async throws {
        try await exclusively {
            try await Chain.with { c in
                var failing = FakeUpstream.Reply.status(500, message: "flaky")
                failing.delayMs = 250
                c.primary.setDefault(failing)
                let cfg = c.config(
                    "purposes:\n  quick: { timeout_ms: 700 }", retry: "retry: { max_attempts: 10, base_ms: 1, max_ms: 1 }")
                try await Harness.with(cfg) { h in
                    let body = #"{"model":"solo","messages":[{"role":"user","content":"hello"}]}"#
                    let (r, ms) = try await elapsed { try await h.chat(body, headers: ["X-Sluice-Purpose": "quick"]) }
                    #expect(r.status == 504)
                    let rec = try await h.record(r.header("X-Sluice-Call-Id"))
                    #expect(ms >= 690 && rec.latencyMs <= 1_000, "answered after \(rec.latencyMs) ms for a 700 ms deadline")
                    // 250 ms per try: two finish, the third is cut at the deadline (fewer on a loaded machine).
                    #expect((1...3).contains(rec.attempts.count))
                    #expect(rec.error?.contains("timeout_ms (700 ms)") == true)
                    #expect(c.primary.requestCount <= rec.attempts.count)
                }
            }
        }
    }

    @Test func streamCutBeforeTheFirstByteFallsBack() async throws {
        try await Chain.with { c in
            var cut = FakeUpstream.Reply.text("never sent")
            cut.cutAfterEvents = 0
            c.primary.setDefault(cut)
            c.backup.setDefault(.text("backup streams"))
            try await Harness.with(c.config()) { h in
                let r = try await h.chat(chainStream)
                #expect(r.status == 200)
                let events = Harness.events(r.body)
                #expect(events.last == "[DONE]")
                let text = events.dropLast().compactMap { try? JSON.parse($0) }
                    .compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
                #expect(text == "backup streams")
                let rec = try await h.record(r.header("X-Sluice-Call-Id"))
                #expect(rec.status == .ok)
                #expect(rec.attempts.map(\.provider) == ["primary", "primary", "primary", "backup"])
                #expect(c.counts == (3, 1))
            }
        }
    }

    @Test func streamCutAfterTheFirstByteEndsWithAnErrorEvent() async throws {
        try await Chain.with { c in
            var cut = FakeUpstream.Reply.text("one two three four five six seven eight")
            cut.cutAfterEvents = 3
            c.primary.setDefault(cut)
            try await Harness.with(c.config()) { h in
                let r = try await h.chat(chainStream)
                #expect(r.status == 200)
                let events = Harness.events(r.body)
                #expect(!events.contains("[DONE]"))
                let last = try JSON.parse(try #require(events.last))
                #expect(last["error"]?["code"]?.stringValue == "upstream_error")
                let rec = try await h.record(r.header("X-Sluice-Call-Id"))
                #expect(rec.status == .streamInterrupted)
                #expect(rec.usage.outputTokens > 0)
                #expect(rec.attempts.count == 1)
                #expect(c.counts == (1, 0))  // bytes were out: no fallback
            }
        }
    }

    @Test func slowFirstTokenMovesToTheNextTarget() async throws {
        try await exclusively {
            try await Chain.with { c in
                // The limit applies to the backup too: 1 s leaves it room on a loaded CI machine
                // (300 ms did not), and 3 s is still well short of the primary's 4 s.
                var slow = FakeUpstream.Reply.text("slow")
                slow.delayMs = 4_000
                c.primary.setDefault(slow)
                c.backup.setDefault(.text("fast backup"))
                try await Harness.with(c.config("purposes:\n  chat: { ttft_timeout_ms: 1000 }")) { h in
                    let (r, ms) = try await elapsed { try await h.chat(chainStream, headers: ["X-Sluice-Purpose": "chat"]) }
                    #expect(r.status == 200, "\(r.text)")
                    #expect(ms < 3_000, "took \(ms) ms")
                    let rec = try await h.record(r.header("X-Sluice-Call-Id"))
                    #expect(rec.attempts.map(\.provider) == ["primary", "backup"])
                    #expect(rec.attempts[0].error?.contains("ttft_timeout_ms") == true)
                    #expect(c.counts == (1, 1))
                }
            }
        }
    }

    @Test func allTargetsOpenIs503WithoutAnUpstreamRequest() async throws {
        try await Chain.with { c in
            c.primary.setDefault(.status(500, message: "down"))
            c.backup.setDefault(.status(503, message: "down too"))
            let cfg = c.config(
                "breaker: { window_s: 30, min_calls: 2, error_rate: 0.5, cooldown_s: 60 }", retry: noRetry)
            try await Harness.with(cfg) { h in
                for _ in 0..<2 { #expect(try await h.chat(chainChat).status == 502) }
                #expect(c.counts == (2, 2))
                let r = try await h.chat(chainChat)
                #expect(r.status == 503)
                #expect(r.json["error"]?["code"]?.stringValue == "breaker_open")
                #expect(r.json["error"]?["message"]?.stringValue?.contains("primary/m-primary") == true)
                #expect(c.counts == (2, 2))
                let rec = try await h.record(r.header("X-Sluice-Call-Id"))
                #expect(rec.attempts.isEmpty)
                #expect(rec.httpStatus == 503)
                let breakers = try await h.request(.GET, "/admin/breakers")
                #expect(breakers.status == 200)
                let rows = breakers.json["data"]?.arrayValue ?? []
                #expect(rows.first { $0["target"]?.stringValue == "primary/m-primary" }?["state"]?.stringValue == "open")
                #expect(rows.first { $0["target"]?.stringValue == "backup/m-backup" }?["state"]?.stringValue == "open")
                #expect(rows.first { $0["target"]?.stringValue == "primary/m-primary" }?["probe_at"]?.stringValue != nil)
                let metrics = try await h.request(.GET, "/metrics").text
                #expect(metrics.contains(#"sluice_breaker_state{target="primary/m-primary",state="open"} 1"#), "\(metrics)")
                #expect(metrics.contains(#"sluice_breaker_state{target="primary/m-primary",state="closed"} 0"#))
                #expect(metrics.contains(#"sluice_breaker_opened{target="backup/m-backup"} 1"#))
            }
        }
    }

    @Test func degradedAnswerWhenEveryTargetFails() async throws {
        try await Chain.with { c in
            c.primary.setDefault(.status(503, message: "down"))
            c.backup.setDefault(.status(500, message: "down too"))
            let cfg = c.config("purposes:\n  faq: { fallback_response: \"We are busy; please try again shortly.\" }", retry: noRetry)
            try await Harness.with(cfg) { h in
                let r = try await h.chat(chainChat, headers: ["X-Sluice-Purpose": "faq"])
                #expect(r.status == 200)
                #expect(r.header("X-Sluice-Degraded") == "true")
                #expect(r.json["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue == "We are busy; please try again shortly.")
                let rec = try await h.record(r.header("X-Sluice-Call-Id"))
                #expect(rec.status == .degraded)
                #expect(rec.attempts.count == 2)
                #expect(rec.error?.contains("down too") == true)

                let s = try await h.chat(chainStream, headers: ["X-Sluice-Purpose": "faq"])
                #expect(s.status == 200)
                #expect(s.header("X-Sluice-Degraded") == "true")
                let events = Harness.events(s.body)
                #expect(events.last == "[DONE]")
                #expect(events.first?.contains("We are busy") == true)

                // Another purpose, same failure: a plain 502, not degraded.
                let plain = try await h.chat(chainChat)
                #expect(plain.status == 502)
                #expect(plain.header("X-Sluice-Degraded") == nil)
            }
        }
    }

    /// Waiting would hold the call for a day; on a loaded 2-core CI machine a call can take
    /// a second or two, so the bound is 5 s and the measurement runs exclusively.
    @Test func hugeRetryAfterIsClampedAndPassedOnWithoutWaiting() async throws {
        try await exclusively {
            try await Chain.with { c in
                c.primary.setDefault(.status(429, message: "quota", headers: [("Retry-After", "1e300")]))
                try await Harness.with(c.config()) { h in
                    let body = #"{"model":"solo","messages":[{"role":"user","content":"hello"}]}"#
                    let (r, ms) = try await elapsed { try await h.chat(body) }
                    #expect(r.status == 502)
                    #expect(r.header("Retry-After") == "86400")
                    #expect(ms < 5_000, "held the call \(ms) ms")
                    #expect(c.counts == (1, 0))
                }
            }
        }
    }

    /// Waiting would hold the call for an hour (see the bound above).
    @Test func retryAfterBeyondMaxMsFallsOverAtOnceWithoutADeadline() async throws {
        try await exclusively {
            try await Chain.with { c in
                c.primary.setDefault(.status(429, message: "quota", headers: [("Retry-After", "3600")]))
                try await Harness.with(c.config()) { h in
                    let (r, ms) = try await elapsed { try await h.chat(chainChat) }
                    #expect(r.status == 200)
                    #expect(r.header("X-Sluice-Provider") == "backup")
                    #expect(ms < 5_000, "held the call \(ms) ms")
                    #expect(c.counts == (1, 1))
                }
            }
        }
    }

    @Test func deadlineCutsDoNotCountAgainstTheBreaker() async throws {
        try await Chain.with { c in
            var slow = FakeUpstream.Reply.text("slow but fine")
            slow.delayMs = 700
            c.primary.setDefault(slow)
            let cfg = c.config(
                "breaker: { window_s: 30, min_calls: 1, error_rate: 0.5, cooldown_s: 60 }\npurposes:\n  quick: { timeout_ms: 200 }",
                retry: noRetry)
            try await Harness.with(cfg) { h in
                let body = #"{"model":"solo","messages":[{"role":"user","content":"hello"}]}"#
                for _ in 0..<2 { #expect(try await h.chat(body, headers: ["X-Sluice-Purpose": "quick"]).status == 504) }
                let rows = try await h.request(.GET, "/admin/breakers").json["data"]?.arrayValue ?? []
                #expect(rows.first { $0["target"]?.stringValue == "primary/m-primary" }?["state"]?.stringValue == "closed")
                // A purpose with time to wait still reaches the target.
                #expect(try await h.chat(body).status == 200)
            }
        }
    }

    @Test func streamsBrokenMidwayOpenTheBreaker() async throws {
        try await Chain.with { c in
            var cut = FakeUpstream.Reply.text("one two three four five six")
            cut.cutAfterEvents = 2
            c.primary.setDefault(cut)
            let cfg = c.config("breaker: { window_s: 30, min_calls: 2, error_rate: 0.5, cooldown_s: 60 }", retry: noRetry)
            try await Harness.with(cfg) { h in
                for _ in 0..<2 {
                    let r = try await h.chat(chainStream)
                    #expect(try await h.record(r.header("X-Sluice-Call-Id")).status == .streamInterrupted)
                }
                // Two broken streams of two: the primary is skipped, the backup answers.
                let r = try await h.chat(chainStream)
                #expect(Harness.events(r.body).last == "[DONE]")
                #expect(r.header("X-Sluice-Provider") == "backup")
                #expect(c.counts == (2, 1))
            }
        }
    }
}

