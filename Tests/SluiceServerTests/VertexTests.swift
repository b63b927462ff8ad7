import Foundation
import SluiceCore
import SluiceTesting
import Testing

/// `type: vertex` end to end: Sluice's HTTP surfaces → the Engine → Gemini's `generateContent`
/// and Claude's `rawPredict` on a FakeUpstream, every access token fetched from the fake's token
/// endpoint with a JWT that PyJWT verifies.
@Suite(.enabled(if: vertexTestsEnabled, "needs python3 with PyJWT (pip install 'pyjwt[crypto]') to verify the JWTs"))
struct VertexTests {
    func config(_ upstream: FakeUpstream, provider: String? = nil, backup: FakeUpstream? = nil, retry: String = noRetry) throws -> String {
        let entry = try provider ?? VertexFixture.provider(upstream)
        let backupEntry = backup.map { #"  backup: { type: openai_compatible, base_url: "\#($0.baseURL)" }"# } ?? ""
        let backupTarget = backup == nil ? "" : ", { provider: backup, model: m-backup, priority: 2 }"
        return """
            providers:
              gcp: \(entry)
            \(backupEntry)
            models:
              gem: { targets: [ { provider: gcp, model: \(VertexFixture.gemini) }\(backupTarget) ] }
              claude: { targets: [ { provider: gcp, model: "\(VertexFixture.claude)" }\(backupTarget) ] }
            \(retry)
            """
    }

    func text(_ r: HTTPResult) -> String? { r.json["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue }

    func streamedText(_ r: HTTPResult) -> String {
        Harness.events(r.body).dropLast().compactMap { try? JSON.parse($0) }
            .compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
    }

    func responsesText(_ r: HTTPResult) -> String? {
        r.json["output"]?.arrayValue?.flatMap { $0["content"]?.arrayValue ?? [] }.compactMap { $0["text"]?.stringValue }.joined()
    }

    @Test(arguments: ["gem", "claude"])
    func everySurfaceWholeAndStreamed(_ model: String) async throws {
        let upstream = try await FakeUpstream.start(tls: model == "claude")
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("Hello from Vertex."))
        let upstreamModel = model == "gem" ? VertexFixture.gemini : VertexFixture.claude
        let (whole, streamed) = model == "gem" ? ("generateContent", "streamGenerateContent") : ("rawPredict", "streamRawPredict")
        try await Harness.with(try config(upstream)) { h in
            let r = try await h.chat(#"{"model":"\#(model)","max_tokens":50,"messages":[{"role":"system","content":"Be kind."},{"role":"user","content":"hi"}]}"#)
            #expect(r.status == 200, "\(r.text)")
            #expect(text(r) == "Hello from Vertex.")
            let sent = try #require(VertexFixture.calls(upstream).last)
            #expect(sent.path == VertexFixture.path(upstreamModel, whole))
            #expect(sent.headers["authorization"]?.hasPrefix("Bearer ya29.fake-") == true)
            let body = try #require(sent.json)
            if model == "claude" {
                #expect(body["model"] == nil)
                #expect(body["anthropic_version"] == "vertex-2023-10-16")
                #expect(body["system"] == "Be kind.")
                #expect(body["max_tokens"] == 50)
            } else {
                #expect(body["systemInstruction"]?["parts"]?.item(0)?["text"] == "Be kind.")
                #expect(body["contents"]?.item(0)?["parts"]?.item(0)?["text"] == "hi")
            }
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.provider == "gcp")
            #expect(rec.usage == Usage(inputTokens: 11, outputTokens: 7))
            // gemini-2.5-flash: 11 × 0.30 + 7 × 2.50; claude-3-5-haiku (its @date dropped): 11 × 0.80 + 7 × 4.00, per million.
            let expected = model == "gem" ? (11 * 0.30 + 7 * 2.50) / 1e6 : (11 * 0.80 + 7 * 4.00) / 1e6
            #expect(rec.costUSD.map { abs($0 - expected) < 1e-12 } == true, "cost \(String(describing: rec.costUSD))")

            let s = try await h.chat(#"{"model":"\#(model)","stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(s.status == 200)
            #expect(streamedText(s) == "Hello from Vertex.")
            let streamedCall = try #require(VertexFixture.calls(upstream).last)
            #expect(streamedCall.path == VertexFixture.path(upstreamModel, streamed))
            if model == "gem" { #expect(streamedCall.query == "alt=sse") } else { #expect(streamedCall.json?["stream"] == true) }

            let m = try await h.request(.POST, "/v1/messages", body: #"{"model":"\#(model)","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(m.status == 200, "\(m.text)")
            #expect(m.json["type"] == "message")
            #expect(m.json["content"]?.item(0)?["text"] == "Hello from Vertex.")
            let ms = try await h.request(
                .POST, "/v1/messages", body: #"{"model":"\#(model)","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(ms.status == 200)
            let deltas = sseJSON(ms.body).filter { $0["type"] == "content_block_delta" }
            #expect(deltas.compactMap { $0["delta"]?["text"]?.stringValue }.joined() == "Hello from Vertex.")

            let resp = try await h.request(.POST, "/v1/responses", body: #"{"model":"\#(model)","input":"hi","instructions":"Be brief."}"#)
            #expect(resp.status == 200, "\(resp.text)")
            #expect(responsesText(resp) == "Hello from Vertex.")
            let rs = try await h.request(.POST, "/v1/responses", body: #"{"model":"\#(model)","input":"hi","stream":true}"#)
            #expect(rs.status == 200)
            #expect(sseJSON(rs.body).contains { $0["type"] == "response.completed" })
        }
        // Six calls, one token.
        #expect(upstream.vertex.tokenRequests == 1)
        #expect(upstream.vertex.rejections.isEmpty)
    }

    @Test func claudeTakesAnthropicClientsNatively() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        try await Harness.with(try config(upstream)) { h in
            let m = try await h.request(
                .POST, "/v1/messages",
                body: #"{"model":"claude","max_tokens":100,"top_k":5,"messages":[{"role":"user","content":"hi"}]}"#,
                headers: ["anthropic-beta": "interleaved-thinking-2025-05-14"])
            #expect(m.status == 200, "\(m.text)")
            let sent = try #require(VertexFixture.calls(upstream).last)
            #expect(sent.json?["top_k"] == 5)
            #expect(sent.json?["model"] == nil)
            #expect(sent.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14")
            // The same native-only field cannot reach a Gemini model on the same provider.
            let g = try await h.request(
                .POST, "/v1/messages", body: #"{"model":"gem","max_tokens":100,"top_k":5,"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(g.status == 400)
            #expect(g.text.contains("top_k"))
        }
    }

    @Test func oneTokenForManyConcurrentCalls() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.vertex.setTokenDelay(ms: 300)
        try await Harness.with(try config(upstream)) { h in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<24 {
                    group.addTask {
                        let model = i % 2 == 0 ? "gem" : "claude"
                        return try await h.chat(#"{"model":"\#(model)","messages":[{"role":"user","content":"call \#(i)"}]}"#).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 200, count: 24))
        }
        #expect(upstream.vertex.tokenRequests == 1)
        #expect(VertexFixture.calls(upstream).count == 24)
    }

    @Test func refreshedShortlyBeforeExpiryOnTheInjectedClock() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let clock = ManualClock()
        upstream.vertex.setClock(clock)
        let chat = #"{"model":"gem","messages":[{"role":"user","content":"hi"}]}"#
        try await Harness.with(try config(upstream), clock: clock) { h in
            #expect(try await h.chat(chat).status == 200)
            let first = VertexFixture.calls(upstream).last?.headers["authorization"]
            clock.advance(3000)  // 599 s left of 3599: still fresh
            #expect(try await h.chat(chat).status == 200)
            #expect(upstream.vertex.tokenRequests == 1)
            #expect(VertexFixture.calls(upstream).last?.headers["authorization"] == first)
            clock.advance(400)  // 199 s left: inside the 300 s margin, so refreshed first, once for a burst
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<6 { group.addTask { try await h.chat(chat).status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 200, count: 6))
            #expect(upstream.vertex.tokenRequests == 2)
            let second = VertexFixture.calls(upstream).last?.headers["authorization"]
            #expect(second != first)
            clock.advance(1000)
            #expect(try await h.chat(chat).status == 200)
            #expect(upstream.vertex.tokenRequests == 2)
        }
        #expect(upstream.vertex.rejections.isEmpty)
    }

    @Test func staticAccessTokenIsSentAsItIs() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let provider = try VertexFixture.provider(upstream, accessToken: "ya29.static-token-for-tests")
        try await Harness.with(try config(upstream, provider: provider)) { h in
            let claude = try await h.chat(#"{"model":"claude","messages":[{"role":"user","content":"hi"}]}"#)
            let gemini = try await h.chat(#"{"model":"gem","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(claude.status == 200 && gemini.status == 200, "\(claude.text) \(gemini.text)")
        }
        #expect(upstream.vertex.tokenRequests == 0)
        #expect(VertexFixture.calls(upstream).allSatisfy { $0.headers["authorization"] == "Bearer ya29.static-token-for-tests" })
    }
}
