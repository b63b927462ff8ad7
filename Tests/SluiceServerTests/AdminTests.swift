import Foundation
import SluiceCore
import SluiceTesting
import Testing

@Suite struct AdminTests {
    @Test func callsListFiltersPaginatesAndGets() async throws {
        try await Harness.with { h in
            var ids: [String] = []
            for i in 0..<5 {
                let r = try await h.chat(simpleSim, headers: ["X-Sluice-Purpose": i < 3 ? "alpha" : "beta", "X-Sluice-Run-Id": "run-\(i % 2)"])
                ids.append(try #require(r.header("X-Sluice-Call-Id")))
            }
            _ = try await h.chat(#"{"model":"nope","messages":[{"role":"user","content":"x"}]}"#)
            await h.gateway.callLog.flush()

            let all = try await h.request(.GET, "/admin/calls")
            #expect(all.json["data"]?.arrayValue?.count == 6)
            let alpha = try await h.request(.GET, "/admin/calls?purpose=alpha")
            #expect(alpha.json["data"]?.arrayValue?.count == 3)
            let run1 = try await h.request(.GET, "/admin/calls?run_id=run-1")
            #expect(run1.json["data"]?.arrayValue?.compactMap { $0["call_id"]?.stringValue }.sorted() == [ids[1], ids[3]].sorted())
            let errors = try await h.request(.GET, "/admin/calls?status=error")
            #expect(errors.json["data"]?.arrayValue?.count == 1)
            let byModel = try await h.request(.GET, "/admin/calls?model=sim-small&since=1h")
            #expect(byModel.json["data"]?.arrayValue?.count == 5)
            let future = try await h.request(.GET, "/admin/calls?since=2999-01-01T00:00:00Z")
            #expect(future.json["data"]?.arrayValue?.count == 0)

            let page1 = try await h.request(.GET, "/admin/calls?limit=4")
            #expect(page1.json["data"]?.arrayValue?.count == 4)
            #expect(page1.json["has_more"] == true)
            let cursor = try #require(page1.json["next_cursor"]?.stringValue)
            let page2 = try await h.request(.GET, "/admin/calls?limit=4&cursor=\(cursor)")
            #expect(page2.json["data"]?.arrayValue?.count == 2)
            #expect(page2.json["has_more"] == false)

            let one = try await h.request(.GET, "/admin/calls/\(ids[0])")
            #expect(one.status == 200)
            for key in ["call_id", "run_id", "purpose", "user", "key", "prompt_name", "prompt_version", "variant", "model",
                        "provider", "answered_model", "status", "error", "attempts", "cache", "input_tokens", "output_tokens",
                        "cached_tokens", "cost_usd", "saved_usd", "latency_ms", "ttft_ms", "schema_valid", "refusal", "created_at"] {
                #expect(one.json.objectValue?.keys.contains(key) == true, "missing \(key)")
            }
            #expect(one.json["purpose"]?.stringValue == "alpha")
            #expect(try await h.request(.GET, "/admin/calls/call_nope").status == 404)
            #expect(try await h.request(.GET, "/admin/calls?since=someday").status == 400)
            #expect(try await h.request(.GET, "/admin/calls?limit=0").status == 400)
        }
    }

    @Test func healthAndReadiness() async throws {
        try await Harness.with { h in
            let health = try await h.request(.GET, "/healthz")
            #expect(health.status == 200)
            let ready = try await h.request(.GET, "/readyz")
            #expect(ready.status == 200)
            #expect(ready.json["status"]?.stringValue == "ready")
        }
    }
}
