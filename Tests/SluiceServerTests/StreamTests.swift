import Foundation
import SluiceCore
import SluiceTesting
import Testing

@Suite struct StreamTests {
    @Test func streamRelaysEventsAndHidesUsageUnlessAsked() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("The quick brown fox jumps", usage: Usage(inputTokens: 40, outputTokens: 9)))
        try await Harness.with(upstreamConfig(upstream)) { h in
            let r = try await h.chat(#"{"model":"fast","stream":true,"messages":[{"role":"user","content":"hello"}]}"#)
            #expect(r.status == 200)
            #expect(r.header("content-type") == "text/event-stream")
            let events = Harness.events(r.body)
            #expect(events.last == "[DONE]")
            let chunks = events.dropLast().compactMap { try? JSON.parse($0) }
            #expect(chunks.count == events.count - 1)
            #expect(!chunks.contains { ($0["choices"]?.arrayValue?.isEmpty ?? false) }, "no usage-only chunk")
            let text = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
            #expect(text == "The quick brown fox jumps")
            // Sluice asked the upstream for usage anyway, and recorded it.
            let sent = try #require(upstream.received.last?.json)
            #expect(sent["stream_options"]?["include_usage"] == true)
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.usage.inputTokens == 40)
            #expect(rec.usage.outputTokens == 9)
            #expect(rec.stream)
            #expect(rec.status == .ok)
            #expect(rec.ttftMs != nil)
            #expect(rec.output == "The quick brown fox jumps")
            #expect(rec.costUSD != nil)
        }
    }

    @Test func usageChunkPassesWhenAsked() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("abc", usage: Usage(inputTokens: 4, outputTokens: 2)))
        try await Harness.with(upstreamConfig(upstream)) { h in
            let r = try await h.chat(#"{"model":"fast","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello"}]}"#)
            let chunks = Harness.events(r.body).dropLast().compactMap { try? JSON.parse($0) }
            let usage = try #require(chunks.last?["usage"])
            #expect(usage["prompt_tokens"]?.intValue == 4)
            #expect(chunks.last?["choices"]?.arrayValue?.isEmpty == true)
        }
    }

    @Test func streamedTextEqualsNonStreamedTextOnSimulated() async throws {
        try await Harness.with { h in
            let plain = try await h.chat(#"{"model":"sim-large","messages":[{"role":"user","content":"same"}]}"#)
            let streamed = try await h.chat(#"{"model":"sim-large","stream":true,"messages":[{"role":"user","content":"same"}]}"#)
            let full = plain.json["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue
            let text = Harness.events(streamed.body).dropLast().compactMap { try? JSON.parse($0) }
                .compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
            #expect(full == text)
        }
    }

    @Test func streamCutMidwayEndsWithErrorEventNotDone() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        var reply = FakeUpstream.Reply.text("one two three four five six seven")
        reply.cutAfterEvents = 3
        upstream.enqueue(reply)
        try await Harness.with(upstreamConfig(upstream)) { h in
            let r = try await h.chat(#"{"model":"fast","stream":true,"messages":[{"role":"user","content":"hello"}]}"#)
            let events = Harness.events(r.body)
            #expect(events.last != "[DONE]")
            let last = try JSON.parse(try #require(events.last))
            #expect(last["error"]?["code"]?.stringValue == "upstream_error")
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.status == .streamInterrupted)
            #expect(rec.error?.contains("stream") == true)
        }
    }

    @Test func streamCutBeforeFirstEventIs502NotABrokenStream() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        var reply = FakeUpstream.Reply.text("never sent")
        reply.cutAfterEvents = 0
        upstream.enqueue(reply)
        try await Harness.with(upstreamConfig(upstream, extra: noRetry)) { h in
            let r = try await h.chat(#"{"model":"fast","stream":true,"messages":[{"role":"user","content":"hello"}]}"#)
            #expect(r.status == 502)
            #expect(r.json["error"]?["code"]?.stringValue == "upstream_error")
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.status == .error)
            #expect(rec.httpStatus == 502)
        }
    }

    @Test func upstreamRefusalBeforeStreamIs502() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.enqueue(.status(503, message: "overloaded"))
        try await Harness.with(upstreamConfig(upstream, extra: noRetry)) { h in
            let r = try await h.chat(#"{"model":"fast","stream":true,"messages":[{"role":"user","content":"hello"}]}"#)
            #expect(r.status == 502)
            #expect(r.json["error"]?["upstream_status"]?.intValue == 503)
            #expect(r.json["error"]?["message"]?.stringValue?.contains("overloaded") == true)
        }
    }
}

@Suite struct StreamPacingTests {
    /// Events reach the client as the upstream produces them, not in one lump at the end.
    @Test func eventsArriveOneByOne() async throws {
        let cfg = """
            providers:
              sim: { type: simulated, chunk_ms: 25 }
            """
        try await Harness.with(cfg) { h in
            var req = HTTPClientRequest(url: h.base + "/v1/chat/completions")
            req.method = .POST
            req.body = .bytes(ByteBuffer(string: #"{"model":"sim-small","stream":true,"messages":[{"role":"user","content":"echo: one two three four five six seven eight"}]}"#))
            let start = ContinuousClock.now
            let res = try await h.client.execute(req, timeout: .seconds(10))
            var arrivals: [Duration] = []
            var received = ""
            for try await buffer in res.body {
                arrivals.append(ContinuousClock.now - start)
                received += String(buffer: buffer)
            }
            #expect(received.hasSuffix("data: [DONE]\n\n"))
            // 11 events 25 ms apart: the first must arrive long before the last.
            #expect(arrivals.count >= 8, "events were coalesced: \(arrivals.count) reads")
            let first = try #require(arrivals.first), last = try #require(arrivals.last)
            #expect(last - first > .milliseconds(150), "first \(first), last \(last)")
        }
    }
}

import AsyncHTTPClient
import NIOCore
