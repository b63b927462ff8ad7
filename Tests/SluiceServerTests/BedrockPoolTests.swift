import Foundation
import SluiceCore
import SluiceTesting
import Testing

/// A Bedrock provider with a pool of credential sets: a throttled set cools down and the call
/// goes on another set within the same attempt, every request still signed as botocore expects.
@Suite(.enabled(if: bedrockTestsEnabled, "needs python3 with botocore (pip install botocore) to verify SigV4 signatures"))
struct BedrockPoolTests {
    static let second = (id: "AKIDEXAMPLEBEDROCK02", secret: "bedrock-second-secret-key-abcdefghijkl")

    @Test func aThrottledCredentialSetCoolsDownAndTheCallGoesOnAnother() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        var throttled = FakeUpstream.Reply.raw(#"{"message":"Too many requests, please wait before trying again."}"#, status: 429)
        throttled.headers = [("x-amzn-ErrorType", "ThrottlingException"), ("retry-after", "30")]
        upstream.byCredential.setDefault(BedrockFixture.accessKey, throttled)
        upstream.setDefault(.text("from the second set"))
        let yaml = """
            providers:
              bed:
                type: bedrock
                region: \(BedrockFixture.region)
                base_url: "\(upstream.origin)"
                credentials:
                  - { name: main, access_key_id: \(BedrockFixture.accessKey), secret_access_key: "\(BedrockFixture.secretKey)" }
                  - { name: spare, access_key_id: \(Self.second.id), secret_access_key: "\(Self.second.secret)" }
            models:
              haiku: { targets: [ { provider: bed, model: "\(BedrockTests.haiku)" } ] }
            \(noRetry)
            """
        let clock = ManualClock(Date(timeIntervalSince1970: 1_795_000_000))
        try await Harness.with(yaml, clock: clock) { h in
            var sawSwitch = false
            for _ in 0..<6 {
                let r = try await h.chat(#"{"model":"haiku","messages":[{"role":"user","content":"hi"}]}"#)
                #expect(r.status == 200, "\(r.text)")
                #expect(r.header("X-Sluice-Attempts") == "1")
                let record = try await h.record(r.header("X-Sluice-Call-Id"))
                #expect(record.attempts.last?.key == "spare")
                if record.attempts.last?.rateLimitedKeys == ["main"] { sawSwitch = true }
            }
            // Once throttled, the main set cools down for its Retry-After: it is not tried again meanwhile.
            #expect(sawSwitch)
            let mainTries = upstream.received.filter { $0.headers["authorization"]?.contains(BedrockFixture.accessKey) == true }.count
            #expect(mainTries == 1, "the throttled set was tried \(mainTries) times during its cooldown")
            let breakers = try await h.request(.GET, "/admin/breakers").json
            let pool = breakers["key_pools"]?.arrayValue?.first { $0["provider"] == "bed" }
            let main = pool?["keys"]?.arrayValue?.first { $0["name"] == "main" }
            #expect(main?["available"] == false, "\(breakers)")
            #expect(!breakers.jsonString.contains(BedrockFixture.secretKey) && !breakers.jsonString.contains(Self.second.secret))
            try await BedrockFixture.expectSignaturesVerify(upstream)
            try await BedrockFixture.expectSignaturesVerify(upstream, keys: Self.second)
            clock.advance(31)
            upstream.byCredential.setDefault(BedrockFixture.accessKey, .text("from the main set"))
            var mainAgain = false
            for _ in 0..<20 where !mainAgain {
                let r = try await h.chat(#"{"model":"haiku","messages":[{"role":"user","content":"hi"}]}"#)
                mainAgain = r.json["choices"]?.item(0)?["message"]?["content"] == "from the main set"
            }
            #expect(mainAgain, "the main set never came back after its cooldown")
        }
    }
}
