import AsyncHTTPClient
import Foundation
import NIOCore
import SluiceCore
import SluiceProviders
import SluiceTesting
import Testing

/// Vertex AI's failures: JWTs the token endpoint's verifier refuses, token endpoint outages,
/// and the publishers' 429, 400 and 401 answers, each in Sluice's failure classes.
@Suite(.enabled(if: vertexTestsEnabled, "needs python3 with PyJWT (pip install 'pyjwt[crypto]') to verify the JWTs"))
struct VertexErrorTests {
    let tests = VertexTests()

    static func googleError(_ code: Int, _ status: String, _ message: String) -> String {
        JSON.object(["error": ["code": .int(code), "message": .string(message), "status": .string(status)]]).jsonString
    }

    /// The verifier itself: a JWT Sluice signed is accepted; the same JWT with a claim changed,
    /// or signed by a key the endpoint does not know, is `400 invalid_grant`.
    @Test func theFakesVerifierRefusesTamperedAndForeignJWTs() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.vertex.register(.shared)
        let tokenURI = upstream.origin + FakeVertexAuth.tokenPath
        let account = try GoogleServiceAccount.load(path: try TestServiceAccount.shared.keyFile(tokenURI: tokenURI))
        let good = try account.assertion(at: Date())
        let parts = good.split(separator: ".").map(String.init)
        let claims = try JSON.parse(Array(try #require(Data(base64URL: parts[1]))))
        var changed = try #require(claims.objectValue)
        changed["scope"] = "https://www.googleapis.com/auth/everything"
        let tampered = parts[0] + "." + Data(JSON.object(changed).serialized()).base64URL + "." + parts[2]
        let foreign = try GoogleServiceAccount(
            json: TestServiceAccount.shared.json(tokenURI: tokenURI, signingKey: TestServiceAccount.stranger.privateKeyPEM).serialized(),
            source: "test")
        let forged = try foreign.assertion(at: Date())

        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { Task { try? await client.shutdown() } }
        func post(_ assertion: String) async throws -> (Int, JSON) {
            var req = HTTPClientRequest(url: tokenURI)
            req.method = .POST
            req.headers.add(name: "content-type", value: "application/x-www-form-urlencoded")
            req.body = .bytes(ByteBuffer(string: "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + assertion))
            let res = try await client.execute(req, timeout: .seconds(30))
            let body = try await res.body.collect(upTo: 1 << 20)
            return (Int(res.status.code), try JSON.parse(Array(body.readableBytesView)))
        }
        let (okStatus, okBody) = try await post(good)
        #expect(okStatus == 200)
        #expect(okBody["access_token"]?.stringValue?.hasPrefix("ya29.") == true)
        for bad in [tampered, forged] {
            let (status, body) = try await post(bad)
            #expect(status == 400)
            #expect(body["error"] == "invalid_grant")
        }
        #expect(upstream.vertex.rejections.count == 2)
        #expect(upstream.vertex.rejections.allSatisfy { $0.contains("InvalidSignatureError") }, "\(upstream.vertex.rejections)")
    }

    /// A key file whose key is not the account's: the endpoint refuses the JWT, the call goes to
    /// the next target without retrying, and the message says to check the credentials.
    @Test func aRefusedJWTFallsBackWithACredentialsMessage() async throws {
        let upstream = try await FakeUpstream.start()
        let backup = try await FakeUpstream.start()
        defer { Task { await upstream.stop(); await backup.stop() } }
        backup.setDefault(.text("From the backup."))
        let provider = try VertexFixture.provider(upstream, signingKey: TestServiceAccount.stranger.privateKeyPEM)
        try await Harness.with(try tests.config(upstream, provider: provider, backup: backup, retry: "retry: { max_attempts: 3, base_ms: 1, max_ms: 2 }")) { h in
            let r = try await h.chat(#"{"model":"gem","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(r.status == 200, "\(r.text)")
            #expect(tests.text(r) == "From the backup.")
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            let first = try #require(rec.attempts.first)
            #expect(first.error?.contains("invalid_grant") == true, "\(String(describing: first.error))")
            #expect(first.error?.contains("credentials_file") == true)
            #expect(first.error?.contains("PRIVATE KEY") == false)
        }
        #expect(upstream.vertex.tokenRequests == 1)  // not retried
        #expect(VertexFixture.calls(upstream).isEmpty)
        #expect(upstream.vertex.rejections.first?.contains("InvalidSignatureError") == true)
    }

    @Test func aTokenEndpointOutageIsRetried() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.vertex.failTokenRequests(503)
        try await Harness.with(try tests.config(upstream, retry: "retry: { max_attempts: 2, base_ms: 1, max_ms: 2 }")) { h in
            let r = try await h.chat(#"{"model":"claude","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(r.status == 200, "\(r.text)")
            #expect(r.header("X-Sluice-Attempts") == "2")
        }
        #expect(upstream.vertex.tokenRequests == 2)
    }

    @Test(arguments: ["gem", "claude"])
    func rateLimitsAreRetriedThenFallBack(_ model: String) async throws {
        let upstream = try await FakeUpstream.start()
        let backup = try await FakeUpstream.start()
        defer { Task { await upstream.stop(); await backup.stop() } }
        var limited = FakeUpstream.Reply.raw(Self.googleError(429, "RESOURCE_EXHAUSTED", "Quota exceeded for aiplatform.googleapis.com"), status: 429)
        limited.headers = [("Retry-After", "0")]
        upstream.enqueue(limited, .text("After the limit."))
        backup.setDefault(.text("From the backup."))
        try await Harness.with(try tests.config(upstream, backup: backup, retry: "retry: { max_attempts: 2, base_ms: 1, max_ms: 2 }")) { h in
            let r = try await h.chat(#"{"model":"\#(model)","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(r.status == 200, "\(r.text)")
            #expect(tests.text(r) == "After the limit.")
            #expect(r.header("X-Sluice-Attempts") == "2")
            upstream.enqueue(limited, limited)
            let f = try await h.chat(#"{"model":"\#(model)","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(f.status == 200, "\(f.text)")
            #expect(tests.text(f) == "From the backup.")
            let rec = try await h.record(f.header("X-Sluice-Call-Id"))
            #expect(rec.attempts.first?.error?.contains("Quota exceeded") == true)
        }
        #expect(upstream.vertex.tokenRequests == 1)
    }

    @Test(arguments: ["gem", "claude"])
    func aBadRequestEndsTheCall(_ model: String) async throws {
        let upstream = try await FakeUpstream.start()
        let backup = try await FakeUpstream.start()
        defer { Task { await upstream.stop(); await backup.stop() } }
        let message = "max_output_tokens: 999999 is larger than this model allows"
        let body =
            model == "gem"
            ? Self.googleError(400, "INVALID_ARGUMENT", message)
            : JSON.object(["type": "error", "error": ["type": "invalid_request_error", "message": .string(message)]]).jsonString
        upstream.setDefault(.raw(body, status: 400))
        try await Harness.with(try tests.config(upstream, backup: backup)) { h in
            let r = try await h.chat(#"{"model":"\#(model)","max_tokens":999999,"messages":[{"role":"user","content":"x"}]}"#)
            #expect(r.status == 400)
            #expect(r.json["error"]?["message"]?.stringValue?.contains("larger than this model allows") == true)
        }
        #expect(backup.requestCount == 0)
    }

    @Test func aRefusedTokenAtThePublisherGoesToTheNextTargetAndIsForgotten() async throws {
        let upstream = try await FakeUpstream.start()
        let backup = try await FakeUpstream.start()
        defer { Task { await upstream.stop(); await backup.stop() } }
        backup.setDefault(.text("From the backup."))
        upstream.enqueue(.raw(Self.googleError(403, "PERMISSION_DENIED", "Permission 'aiplatform.endpoints.predict' denied"), status: 403))
        try await Harness.with(try tests.config(upstream, backup: backup)) { h in
            let r = try await h.chat(#"{"model":"gem","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(tests.text(r) == "From the backup.")
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.attempts.first?.error?.contains("roles/aiplatform.user") == true, "\(String(describing: rec.attempts.first?.error))")
            upstream.enqueue(.raw(Self.googleError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials."), status: 401))
            let u = try await h.chat(#"{"model":"gem","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(tests.text(u) == "From the backup.")
            // The refused token is dropped: the next call fetches a new one.
            let again = try await h.chat(#"{"model":"gem","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(again.status == 200)
            #expect(tests.text(again) != "From the backup.")
        }
        #expect(upstream.vertex.tokenRequests == 2)
    }
}

extension Data {
    /// Decodes unpadded base64url.
    init?(base64URL text: String) {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        self.init(base64Encoded: s)
    }

    /// Unpadded base64url.
    var base64URL: String {
        var s = base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while s.hasSuffix("=") { s.removeLast() }
        return s
    }
}
