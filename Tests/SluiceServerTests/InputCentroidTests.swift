import Foundation
import SluiceCore
import SluiceEngine
import SluiceStore
import SluiceTesting
import Testing

/// Input drift by meaning (`drift: {embedding_model}`): the share of recent inputs far from the
/// baseline's centroid is measured through the embeddings pipeline and flagged when it grows.
@Suite struct InputCentroidTests {
    static func vector(_ x: Double, _ y: Double, _ jitter: Double) -> JSON { [.double(x + jitter), .double(y - jitter), 0.05] }

    static func embeddings(_ vectors: [JSON]) -> FakeUpstream.Reply {
        let data = vectors.enumerated().map { i, v in JSON.object(["object": "embedding", "index": .int(i), "embedding": v]) }
        return .raw(JSON.object(["object": "list", "data": .array(data), "model": "emb-model", "usage": ["prompt_tokens": 30, "total_tokens": 30]]).jsonString)
    }

    @Test func inputsFarFromTheBaselinesCentroidAreFlagged() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let clock = ManualClock(DriftTests.now)
        let yaml = """
            auth: { admin_key: admin-secret-centroid }
            providers:
              up: { type: openai_compatible, base_url: "\(upstream.baseURL)" }
            models:
              fast: { targets: [ { provider: up, model: m } ] }
              emb: { targets: [ { provider: up, model: emb-model } ] }
            pricing:
              emb-model: { input: 0.02, output: 0 }
            purposes:
              triage: { drift: { embedding_model: emb, sample: 12 } }
            """
        try await Harness.with(yaml, clock: clock) { h in
            var seeded: [CallRecord] = []
            for i in 0..<12 {
                var old = DriftTests.call(i, daysAgo: 10 + Double(i) / 10, valid: true)
                old.requestBody = #"{"messages":[{"role":"user","content":"invoice question \#(i)"}]}"#
                var new = DriftTests.call(100 + i, daysAgo: 1 + Double(i) / 10, valid: true)
                new.requestBody = #"{"messages":[{"role":"user","content":"\#(i < 8 ? "poem request" : "invoice question") \#(i)"}]}"#
                seeded += [old, new]
            }
            try await h.gateway.store.insert(seeded)
            // The baseline is embedded first, then the recent window: 8 of 12 recent inputs point elsewhere.
            let recent = (0..<12).map { i in i < 8 ? Self.vector(0, 1, Double(i) / 100) : Self.vector(1, 0, Double(i) / 100) }
            let baseline = (0..<12).map { i in Self.vector(1, 0, Double(i) / 100) }
            upstream.enqueue(Self.embeddings(baseline), Self.embeddings(recent))
            let r = try await h.request(.GET, "/admin/drift/triage", headers: ["Authorization": "Bearer admin-secret-centroid"])
            #expect(r.status == 200, "\(r.text)")
            let shift = r.json["shifts"]?.arrayValue?.first { $0["metric"] == "input_centroid_far_share" }
            #expect(shift?["significant"] == true, "\(r.json["shifts"] ?? .null)")
            #expect(abs((shift?["current"]?.doubleValue ?? 0) - 8.0 / 12) < 1e-9)
            #expect(r.json["flagged"]?.arrayValue?.contains { $0.stringValue?.contains("far from the baseline's centroid") == true } == true)
            // Both embedding calls are logged and costed under the purpose.
            await h.gateway.callLog.flush()
            let logged = try await h.gateway.store.list(CallFilter(purpose: "triage", limit: 100)).filter { $0.model == "emb" }
            #expect(logged.count == 2 && logged.allSatisfy { ($0.costUSD ?? 0) > 0 })
        }
    }
}
