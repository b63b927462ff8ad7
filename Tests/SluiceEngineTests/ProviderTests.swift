import Testing
import SluiceCore
@testable import SluiceProviders

@Suite struct SSEDecoderTests {
    @Test func eventsSplitAcrossFeeds() {
        var d = SSEDecoder()
        d.feed(Array("data: {\"a\"".utf8))
        #expect(d.next() == nil)
        d.feed(Array(":1}\n\ndata: [DONE]\r\n\r\n".utf8))
        #expect(d.next()?.data == Array("{\"a\":1}".utf8))
        #expect(d.next()?.data == Array("[DONE]".utf8))
        #expect(d.next() == nil)
        #expect(!d.hasPartialEvent)
    }

    @Test func commentsEventNamesAndMultilineData() {
        var d = SSEDecoder()
        d.feed(Array(": keep-alive\n\nevent: message_start\ndata: a\ndata: b\n\n".utf8))
        let e = d.next()
        #expect(e?.event == "message_start")
        #expect(e?.data == Array("a\nb".utf8))
    }

    @Test func carriageReturnOnlyAndSplitCRLF() {
        var d = SSEDecoder()
        d.feed(Array("event: x\rdata: {\"a\":1}\r\r".utf8))
        let e = d.next()
        #expect(e?.event == "x")
        #expect(e?.data == Array("{\"a\":1}".utf8))
        // A CRLF split across reads is one line ending, not two.
        d.feed(Array("data: b\r".utf8))
        #expect(d.next() == nil)
        d.feed(Array("\ndata: c\r\n\r\n".utf8))
        #expect(d.next()?.data == Array("b\nc".utf8))
    }

    @Test func eventsWithoutDataAreNotDispatched() {
        var d = SSEDecoder()
        d.feed(Array("event: ping\n\ndata:\n\ndata: real\n\n".utf8))
        #expect(d.next()?.data == Array("real".utf8))
        #expect(d.next() == nil)
    }

    @Test func finishFlushesALastEventWithoutBlankLine() {
        var d = SSEDecoder()
        d.feed(Array("data: [DONE]\n".utf8))
        #expect(d.next() == nil)
        #expect(d.finish()?.data == Array("[DONE]".utf8))
    }

    @Test func partialEventIsReported() {
        var d = SSEDecoder()
        d.feed(Array("data: {\"cut".utf8))
        #expect(d.next() == nil)
        #expect(d.hasPartialEvent)
    }
}

@Suite struct SimulatedProviderTests {
    func request(_ text: String, stream: Bool = false, extra: JSONObject = [:]) -> UpstreamRequest {
        var body: JSONObject = ["model": "sim-small", "messages": [["role": "user", "content": .string(text)]]]
        if stream { body["stream_options"] = ["include_usage": true] }
        for (k, v) in extra { body[k] = v }
        return UpstreamRequest(body: body, model: "sim-small", stream: stream)
    }

    @Test func answersAreDeterministicAndDependOnInput() async throws {
        let p = SimulatedProvider(name: "sim")
        let a = try await p.complete(request("hello"))
        let b = try await p.complete(request("hello"))
        let c = try await p.complete(request("goodbye"))
        #expect(a.text == b.text)
        #expect(a.text != c.text)
        #expect(a.answeredModel == "sim-small-2025-01-01")
        #expect((a.usage?.inputTokens ?? 0) > 0)
        #expect((a.usage?.outputTokens ?? 0) > 0)
    }

    @Test func echoAndMaxTokens() async throws {
        let p = SimulatedProvider(name: "sim")
        #expect(try await p.complete(request("echo: exactly this")).text == "exactly this")
        let short = try await p.complete(request("tell me", extra: ["max_tokens": 2]))
        #expect(short.text.count <= 8)
        #expect(short.json["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue == "length")
    }

    @Test func streamedTextEqualsCompleteText() async throws {
        let p = SimulatedProvider(name: "sim")
        let full = try await p.complete(request("stream me"))
        let stream = try await p.stream(request("stream me", stream: true))
        var text = ""
        var usage: Usage?
        while let chunk = try await stream.next() {
            text += ChatText.chunkDelta(chunk.json) ?? ""
            if let u = chunk.usage { usage = u }
        }
        #expect(text == full.text)
        #expect(usage == full.usage)
    }
}
