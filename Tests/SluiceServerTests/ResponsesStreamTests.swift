import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// Streams of `/v1/responses` as the client reads them: an OpenAI upstream's own events
/// pass through with Sluice's id; a stream cut mid-way ends with `response.failed`,
/// numbered after the events already sent, never with `response.completed`.
@Suite struct ResponsesStreamTests {
    static func config(_ upstream: FakeUpstream) -> String {
        """
        providers:
          oai: { type: openai, base_url: "\(upstream.baseURL)", api_key: "sk-test-oai" }
        models:
          gpt: { targets: [ { provider: oai, model: gpt-4.1-mini } ] }
        retry: { max_attempts: 1 }
        """
    }

    /// The `data:` objects of an SSE body.
    static func events(_ body: [UInt8]) -> [JSON] {
        String(decoding: body, as: UTF8.self).components(separatedBy: "\n\n").compactMap { block in
            block.split(separator: "\n").first { $0.hasPrefix("data: ") }.flatMap { try? JSON.parse(Array($0.dropFirst(6).utf8)) }
        }
    }

    @Test func aNativeStreamPassesThroughWithSluicesID() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("native words from OpenAI"))
        try await Harness.with(Self.config(upstream)) { h in
            let r = try await h.request(.POST, "/v1/responses", body: #"{"model":"gpt","input":"hi","stream":true}"#)
            #expect(r.status == 200)
            let events = Self.events(r.body)
            #expect(events.first?["type"] == "response.created")
            #expect(events.last?["type"] == "response.completed")
            let id = try #require(events.last?["response"]?["id"]?.stringValue)
            #expect(id.hasPrefix("resp_") && id != "resp_upstream_1")
            #expect(events.allSatisfy { $0["response"] == nil || $0["response"]?["id"]?.stringValue == id })
            let text = events.filter { $0["type"] == "response.output_text.delta" }.compactMap { $0["delta"]?.stringValue }.joined()
            #expect(text == "native words from OpenAI")
            #expect(upstream.received.last?.path == "/v1/responses")
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.surface == "responses" && rec.status == .ok && rec.stream)
            #expect(rec.output == "native words from OpenAI")
            let stored = try await h.request(.GET, "/v1/responses/\(id)")
            #expect(stored.json["status"] == "completed")
        }
    }

    @Test func aStreamCutMidwayEndsWithResponseFailed() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        var cut = FakeUpstream.Reply.text("this answer is cut before the end")
        cut.cutAfterEvents = 5
        upstream.setDefault(cut)
        try await Harness.with(Self.config(upstream)) { h in
            let r = try await h.request(.POST, "/v1/responses", body: #"{"model":"gpt","input":"hi","stream":true}"#)
            #expect(r.status == 200)
            let events = Self.events(r.body)
            #expect(events.last?["type"] == "response.failed", "\(events.map { $0["type"] ?? .null })")
            #expect(!events.contains { $0["type"] == "response.completed" })
            #expect(events.filter { $0["type"] == "response.created" }.count == 1)
            let numbers = events.compactMap { $0["sequence_number"]?.intValue }
            #expect(numbers == Array(0..<numbers.count), "\(numbers)")
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.status == .streamInterrupted && rec.surface == "responses")
        }
    }
}
