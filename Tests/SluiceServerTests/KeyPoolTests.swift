import Foundation
import SluiceCore
import SluiceTesting
import Testing

/// Key pools (`api_keys:`) over real HTTP: the fake answers each key with its own rate-limit headers.
@Suite struct KeyPoolTests {
    static let keyA = "sk-pool-aaaaaaaa1111"
    static let keyB = "sk-pool-bbbbbbbb2222"
    static let t0 = Date(timeIntervalSince1970: 1_795_000_000)
    static let chat = #"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#

    /// Key `key-a` weighs a million times `key-b`: it is chosen whenever it has room, so the tests are deterministic.
    static func config(_ upstream: FakeUpstream, type: String = "openai", base: String? = nil, model: String = "gpt-4o-mini-2024-07-18") -> String {
        """
        providers:
          pool:
            type: \(type)
            base_url: "\(base ?? upstream.baseURL)"
            api_keys:
              - { name: key-a, key: "\(keyA)", weight: 1000000 }
              - { name: key-b, key: "\(keyB)" }
        models:
          m:
            targets:
              - { provider: pool, model: \(model) }
        \(noRetry)
        """
    }

    static func used(_ upstream: FakeUpstream, _ key: String) -> Int {
        upstream.received.filter { FakeCredentialReplies.credential(in: $0.headers) == key }.count
    }

    static func reply(_ text: String, _ headers: [(String, String)]) -> FakeUpstream.Reply {
        var r = FakeUpstream.Reply.text(text)
        r.headers = headers
        return r
    }

    @Test func aKeyWithNoRequestsLeftIsSkippedUntilItsReset() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.byCredential.setDefault(
            Self.keyA,
            Self.reply("from a", [("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "1m0s"),
                                  ("x-ratelimit-remaining-tokens", "90000"), ("x-ratelimit-reset-tokens", "6ms")]))
        upstream.byCredential.setDefault(
            Self.keyB, Self.reply("from b", [("x-ratelimit-remaining-requests", "499"), ("x-ratelimit-reset-requests", "120ms")]))
        let clock = ManualClock(Self.t0)
        try await Harness.with(Self.config(upstream), clock: clock) { h in
            var last: HTTPResult?
            for _ in 0..<8 {
                let r = try await h.chat(Self.chat)
                #expect(r.status == 200)
                #expect(r.header("X-Sluice-Attempts") == "1")
                last = r
            }
            #expect(Self.used(upstream, Self.keyA) == 1)
            #expect(Self.used(upstream, Self.keyB) == 7)
            let record = try await h.record(last?.header("X-Sluice-Call-Id"))
            #expect(record.attempts.map(\.key) == ["key-b"])
            #expect(last?.json["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue == "from b")

            clock.advance(60)  // key-a's request window resets
            let r = try await h.chat(Self.chat)
            #expect(r.status == 200)
            #expect(Self.used(upstream, Self.keyA) == 2)
            #expect(try await h.record(r.header("X-Sluice-Call-Id")).attempts.map(\.key) == ["key-a"])
        }
    }

    @Test func a429GoesToAnotherKeyAtOnceAndCoolsItsKeyUntilTheReset() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.byCredential.enqueue(
            Self.keyA,
            .status(429, message: "Rate limit reached for key \(Self.keyA)",
                    headers: [("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "30s")]))
        upstream.byCredential.setDefault(Self.keyA, .text("from a"))
        upstream.byCredential.setDefault(Self.keyB, .text("from b"))
        let clock = ManualClock(Self.t0)
        try await Harness.with(Self.config(upstream), clock: clock) { h in
            let r = try await h.chat(Self.chat)
            #expect(r.status == 200)
            #expect(r.header("X-Sluice-Attempts") == "1")
            #expect(r.json["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue == "from b")
            let attempts = try await h.record(r.header("X-Sluice-Call-Id")).attempts
            #expect(attempts.count == 1)
            #expect(attempts.first?.key == "key-b")
            #expect(attempts.first?.rateLimitedKeys == ["key-a"])

            // key-a cools down for its reset time: streams and whole calls go to key-b meanwhile.
            let s = try await h.chat(#"{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(Harness.events(s.body).last == "[DONE]")
            clock.advance(29)
            #expect(try await h.chat(Self.chat).status == 200)
            #expect(Self.used(upstream, Self.keyA) == 1)
            #expect(Self.used(upstream, Self.keyB) == 3)

            let breakers = try await h.request(.GET, "/admin/breakers")
            let keys = breakers.json["key_pools"]?.arrayValue?.first?["keys"]?.arrayValue ?? []
            #expect(breakers.json["key_pools"]?.arrayValue?.first?["provider"]?.stringValue == "pool")
            #expect(keys.map { $0["name"]?.stringValue } == ["key-a", "key-b"])
            #expect(keys.first?["cooldown_until"]?.stringValue == Timestamp.iso8601(Self.t0.addingTimeInterval(30)))
            #expect(keys.first?["available"]?.boolValue == false)
            #expect(keys.first?["rate_limited"]?.intValue == 1)
            #expect(keys.last?["calls"]?.intValue == 3)
            let metrics = try await h.request(.GET, "/metrics").text
            let cooldown = metrics.split(separator: "\n").first { $0.hasPrefix("sluice_provider_key_cooldown_seconds{") && $0.contains("key-a") }
            #expect(cooldown.flatMap { Double($0.split(separator: " ").last ?? "") } == 1)
            #expect(metrics.contains(#"sluice_provider_key_calls{provider="pool",key="key-b"} 3"#))

            clock.advance(1)  // the reset time: key-a is back
            #expect(try await h.chat(Self.chat).status == 200)
            #expect(Self.used(upstream, Self.keyA) == 2)
            for text in [breakers.text, metrics, h.logs.text] {
                #expect(!text.contains(Self.keyA) && !text.contains(Self.keyB))
            }
        }
    }

    @Test func everyKeyExhaustedFailsLikeA429NamingTheResetTimes() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.byCredential.setDefault(
            Self.keyA, .status(429, message: "slow down \(Self.keyA)", headers: [("x-ratelimit-reset-requests", "20s")]))
        upstream.byCredential.setDefault(
            Self.keyB, .status(429, message: "slow down \(Self.keyB)", headers: [("x-ratelimit-reset-tokens", "40s")]))
        let clock = ManualClock(Self.t0)
        try await Harness.with(Self.config(upstream), clock: clock) { h in
            let first = try await h.chat(Self.chat)
            #expect(first.status != 200)
            #expect(upstream.requestCount == 2)  // key-a, then key-b at once
            #expect(first.text.contains("'key-a' until \(Timestamp.iso8601(Self.t0.addingTimeInterval(20)))"))
            #expect(!first.text.contains(Self.keyA) && !first.text.contains(Self.keyB))

            let second = try await h.chat(Self.chat)
            #expect(second.status == first.status)
            #expect(upstream.requestCount == 2)  // no key has room: nothing was sent
            let message = second.json["error"]?["message"]?.stringValue ?? ""
            #expect(message.contains("every key of provider 'pool' is rate-limited"))
            #expect(message.contains("'key-a' until \(Timestamp.iso8601(Self.t0.addingTimeInterval(20)))"))
            #expect(message.contains("'key-b' until \(Timestamp.iso8601(Self.t0.addingTimeInterval(40)))"))
            #expect(second.header("Retry-After") == "20")
        }
    }

    @Test func anthropicRateLimitHeadersSteerTheCalls() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let reset = Timestamp.iso8601(Self.t0.addingTimeInterval(60))
        upstream.byCredential.setDefault(
            Self.keyA,
            Self.reply("from a", [("anthropic-ratelimit-requests-remaining", "3"), ("anthropic-ratelimit-requests-reset", reset),
                                  ("anthropic-ratelimit-output-tokens-remaining", "0"), ("anthropic-ratelimit-output-tokens-reset", reset)]))
        upstream.byCredential.setDefault(Self.keyB, .text("from b"))
        let clock = ManualClock(Self.t0)
        try await Harness.with(Self.config(upstream, type: "anthropic", model: "claude-3-5-haiku-20241022"), clock: clock) { h in
            for _ in 0..<4 { #expect(try await h.chat(Self.chat).status == 200) }
            #expect(Self.used(upstream, Self.keyA) == 1)
            #expect(Self.used(upstream, Self.keyB) == 3)
            #expect(upstream.received.allSatisfy { $0.headers["authorization"] == nil && $0.headers["x-api-key"] != nil })
            let keys = try await h.request(.GET, "/admin/breakers").json["key_pools"]?.arrayValue?.first?["keys"]?.arrayValue ?? []
            #expect(keys.first?["remaining_requests"]?.intValue == 3)
            #expect(keys.first?["remaining_tokens"]?.intValue == 0)
            #expect(keys.first?["available_at"]?.stringValue == reset)
            clock.advance(60)
            #expect(try await h.chat(Self.chat).status == 200)
            #expect(Self.used(upstream, Self.keyA) == 2)
        }
    }

    @Test func geminiAndAzurePoolsSendEachKeyInTheirOwnHeader() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.byCredential.enqueue(Self.keyA, .status(429, message: "quota"), .status(429, message: "quota"))
        try await Harness.with(Self.config(upstream, type: "gemini", base: upstream.origin + "/v1beta", model: "gemini-2.5-flash")) { h in
            let r = try await h.chat(Self.chat)
            #expect(r.status == 200)
            #expect(upstream.received.map { $0.headers["x-goog-api-key"] } == [Self.keyA, Self.keyB])
        }
        try await Harness.with(Self.config(upstream, type: "azure_openai", base: upstream.origin, model: "gpt4o-prod")) { h in
            let r = try await h.chat(Self.chat)
            #expect(r.status == 200)
            #expect(upstream.received.suffix(2).map { $0.headers["api-key"] } == [Self.keyA, Self.keyB])
        }
    }
}
