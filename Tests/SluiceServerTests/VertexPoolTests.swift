import Foundation
import SluiceCore
import SluiceEngine
import SluiceTesting
import Testing

/// A Vertex AI provider with a pool of credential sets: a set answered with 429 cools down and
/// the call goes on another set within the same attempt.
@Suite struct VertexPoolTests {
    @Test func aRateLimitedCredentialSetCoolsDownAndTheCallGoesOnAnother() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.vertex.allowStaticToken("ya29.token-main")
        upstream.vertex.allowStaticToken("ya29.token-spare")
        var limited = FakeUpstream.Reply.status(429, message: "Resource exhausted. Please try again later.")
        limited.headers = [("retry-after", "20")]
        upstream.byCredential.setDefault("ya29.token-main", limited)
        upstream.setDefault(.text("from the spare set"))
        let yaml = """
            providers:
              gcp:
                type: vertex
                project: \(VertexFixture.project)
                location: \(VertexFixture.location)
                base_url: "\(upstream.origin)"
                credentials:
                  - { name: main, access_token: "ya29.token-main", weight: 3 }
                  - { name: spare, access_token: "ya29.token-spare" }
            models:
              flash: { targets: [ { provider: gcp, model: \(VertexFixture.gemini) } ] }
            \(noRetry)
            """
        let clock = ManualClock(Date(timeIntervalSince1970: 1_795_000_000))
        try await Harness.with(yaml, clock: clock) { h in
            for _ in 0..<6 {
                let r = try await h.chat(#"{"model":"flash","messages":[{"role":"user","content":"hi"}]}"#)
                #expect(r.status == 200 && r.header("X-Sluice-Attempts") == "1", "\(r.text)")
                #expect(r.json["choices"]?.item(0)?["message"]?["content"] == "from the spare set")
                #expect(try await h.record(r.header("X-Sluice-Call-Id")).attempts.last?.key == "spare")
            }
            let mainTries = upstream.received.filter { $0.headers["authorization"] == "Bearer ya29.token-main" }.count
            #expect(mainTries == 1, "the rate-limited set was tried \(mainTries) times during its cooldown")
            let breakers = try await h.request(.GET, "/admin/breakers").json
            #expect(!breakers.jsonString.contains("ya29.token"), "a token leaked into /admin/breakers")
            #expect(breakers["key_pools"]?.arrayValue?.first { $0["provider"] == "gcp" }?["keys"]?.arrayValue?.count == 2)
        }
    }

    @Test func aPoolEntryNeedsCredentialsAndNames() throws {
        let head = "providers:\n  gcp:\n    type: vertex\n    project: p\n    location: us-central1\n    credentials:\n"
        for (entries, expected) in [
            ("      - { name: a, access_token: t1 }\n      - { access_token: t2 }\n", "key name ''"),
            ("      - { name: a }\n", "needs one of credentials_file and access_token"),
            ("      - { name: a, access_token: t1 }\n      - { name: a, access_token: t2 }\n", "two credential sets are named 'a'"),
        ] {
            do {
                _ = try ConfigLoader.parse(head + entries, environment: [:])
                Issue.record("accepted: \(entries)")
            } catch {
                #expect("\(error)".contains(expected), "\(error)")
            }
        }
    }
}
