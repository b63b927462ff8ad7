import Foundation
import SluiceCore
import SluiceTesting
import Testing

let keysConfig = """
    auth:
      admin_key: admin-key-0000001
      keys:
        - { name: web, key: web-key-0000001 }
        - { name: triage-only, key: tri-key-0000001, purposes: [triage] }
    """

@Suite struct ErrorTests {
    func expectError(_ r: HTTPResult, _ status: Int, _ code: String, contains text: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == status, "\(r.text)", sourceLocation: sourceLocation)
        let err = r.json["error"]
        #expect(err?["code"]?.stringValue == code, "\(r.text)", sourceLocation: sourceLocation)
        #expect(err?["type"]?.stringValue != nil, sourceLocation: sourceLocation)
        #expect(err?.objectValue?.keys.contains("param") == true, sourceLocation: sourceLocation)
        if let text { #expect(err?["message"]?.stringValue?.contains(text) == true, "\(r.text)", sourceLocation: sourceLocation) }
    }

    @Test func malformedJSONIs400() async throws {
        try await Harness.with { h in
            expectError(try await h.chat(#"{"model": "sim-small", "#), 400, "invalid_request", contains: "not valid JSON")
        }
    }

    @Test func wrongTypeIs400NamingTheField() async throws {
        try await Harness.with { h in
            let r = try await h.chat(#"{"model":"sim-small","messages":[{"role":"user","content":"x"}],"temperature":"warm"}"#)
            expectError(r, 400, "invalid_request", contains: "'temperature' must be a number")
            #expect(r.json["error"]?["param"]?.stringValue == "temperature")
        }
    }

    @Test func unknownModelIs400ListingModels() async throws {
        try await Harness.with { h in
            let r = try await h.chat(#"{"model":"gpt-9","messages":[{"role":"user","content":"x"}]}"#)
            expectError(r, 400, "invalid_request", contains: "Unknown model 'gpt-9'")
            #expect(r.json["error"]?["message"]?.stringValue?.contains("sim-small") == true)
            // Failed calls are rows too.
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.status == .error)
            #expect(rec.httpStatus == 400)
        }
    }

    @Test func badPurposeAndCacheHeaderAre400() async throws {
        try await Harness.with { h in
            expectError(try await h.chat(simpleSim, headers: ["X-Sluice-Purpose": "no spaces allowed"]), 400, "invalid_request", contains: "Purpose")
            expectError(try await h.chat(simpleSim, headers: ["X-Sluice-Cache": "sometimes"]), 400, "invalid_request", contains: "X-Sluice-Cache")
        }
    }

    @Test func missingAndUnknownKeysAre401() async throws {
        try await Harness.with(keysConfig) { h in
            expectError(try await h.chat(simpleSim), 401, "invalid_api_key", contains: "Missing API key")
            expectError(try await h.chat(simpleSim, headers: ["Authorization": "Bearer nope-nope-nope"]), 401, "invalid_api_key")
            expectError(try await h.request(.GET, "/v1/models"), 401, "invalid_api_key")
            let ok = try await h.chat(simpleSim, headers: ["Authorization": "Bearer web-key-0000001"])
            #expect(ok.status == 200)
            let rec = try await h.record(ok.header("X-Sluice-Call-Id"))
            #expect(rec.keyName == "web")
            let viaHeader = try await h.chat(simpleSim, headers: ["x-api-key": "web-key-0000001"])
            #expect(viaHeader.status == 200)
        }
    }

    @Test func scopeAndAdminAre403() async throws {
        try await Harness.with(keysConfig) { h in
            expectError(
                try await h.chat(simpleSim, headers: ["Authorization": "Bearer tri-key-0000001", "X-Sluice-Purpose": "billing"]),
                403, "forbidden", contains: "may not use purpose 'billing'")
            let allowed = try await h.chat(simpleSim, headers: ["Authorization": "Bearer tri-key-0000001", "X-Sluice-Purpose": "triage"])
            #expect(allowed.status == 200)
            expectError(try await h.request(.GET, "/admin/calls"), 403, "forbidden", contains: "admin key")
            expectError(try await h.request(.GET, "/admin/calls", headers: ["Authorization": "Bearer web-key-0000001"]), 403, "forbidden")
            let admin = try await h.request(.GET, "/admin/calls", headers: ["Authorization": "Bearer admin-key-0000001"])
            #expect(admin.status == 200)
        }
    }

    @Test func oversizedBodyIs413() async throws {
        try await Harness.with("server: { max_body_bytes: 1024 }") { h in
            let big = #"{"model":"sim-small","messages":[{"role":"user","content":""# + String(repeating: "x", count: 4000) + #""}]}"#
            expectError(try await h.chat(big), 413, "payload_too_large", contains: "1024")
            #expect(try await h.chat(simpleSim).status == 200)
        }
    }

    @Test func upstreamFailureIs502WithStatusAndMessage() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.enqueue(.status(500, message: "The server had an error while processing your request."))
        try await Harness.with(upstreamConfig(upstream, extra: noRetry)) { h in
            let r = try await h.chat(simpleChat)
            expectError(r, 502, "upstream_error", contains: "The server had an error")
            #expect(r.json["error"]?["upstream_status"]?.intValue == 500)
            let attempts = try #require(r.json["error"]?["attempts"]?.arrayValue)
            #expect(attempts.first?["provider"]?.stringValue == "up")
            #expect(attempts.first?["status"]?.intValue == 500)
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.status == .error)
            #expect(rec.httpStatus == 502)
            #expect(rec.error?.contains("The server had an error") == true)
            #expect(rec.attempts.first?.status == 500)
        }
    }

    @Test func providerKeyInUpstreamErrorIsScrubbed() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.enqueue(.status(401, message: "Incorrect API key provided: sk-provider-secret-123."))
        try await Harness.with(upstreamConfig(upstream)) { h in
            let r = try await h.chat(simpleChat)
            expectError(r, 502, "upstream_error", contains: "Incorrect API key provided")
            #expect(!r.text.contains("secret-123"))
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.error?.contains("secret-123") == false)
            #expect(!h.logs.text.contains("secret-123"))
        }
    }

    @Test func garbageFromUpstreamIs502() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.enqueue(.raw("<html>oops</html>"))
        try await Harness.with(upstreamConfig(upstream, extra: noRetry)) { h in
            expectError(try await h.chat(simpleChat), 502, "upstream_error", contains: "not a chat completion")
        }
    }

    @Test func unreachableUpstreamIs502() async throws {
        let cfg = """
            providers:
              dead: { type: openai_compatible, base_url: "http://127.0.0.1:9/v1" }
            models:
              m: { targets: [ { provider: dead, model: x } ] }
            \(noRetry)
            """
        try await Harness.with(cfg) { h in
            let r = try await h.chat(#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#)
            expectError(r, 502, "upstream_error", contains: "connection")
        }
    }

    @Test func unknownRouteIs404JSON() async throws {
        try await Harness.with { h in
            expectError(try await h.request(.GET, "/v1/nothing"), 404, "not_found")
        }
    }
}

let simpleSim = #"{"model":"sim-small","messages":[{"role":"user","content":"hi"}]}"#
