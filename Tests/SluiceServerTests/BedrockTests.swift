import Foundation
import SluiceCore
import SluiceTesting
import Testing

/// `type: bedrock` end to end: Sluice's HTTP surfaces → the Engine → Converse / ConverseStream at
/// a FakeUpstream, every request's SigV4 signature recomputed by botocore.
@Suite(.enabled(if: bedrockTestsEnabled, "needs python3 with botocore (pip install botocore) to verify SigV4 signatures"))
struct BedrockTests {
    static let haiku = "anthropic.claude-3-5-haiku-20241022-v1:0"
    static let haikuPath = "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0"

    func config(_ upstream: FakeUpstream, backup: FakeUpstream? = nil, token: Bool = false, fromEnv: Bool = false, retry: String = noRetry) -> String {
        let chain = backup.map { b in
            """
              backup: { type: openai_compatible, base_url: "\(b.baseURL)" }
            """
        } ?? ""
        let chainModel = backup == nil ? "" : """
              chain:
                targets:
                  - { provider: bed, model: "\(Self.haiku)" }
                  - { provider: backup, model: m-backup, priority: 2 }
            """
        return """
            providers:
              bed: \(BedrockFixture.provider(upstream, token: token, fromEnv: fromEnv))
            \(chain)
            models:
              haiku: { targets: [ { provider: bed, model: "\(Self.haiku)" } ] }
            \(chainModel)
            \(retry)
            """
    }

    static let weather = FakeUpstream.ToolUse(id: "tooluse_w1", name: "get_weather", input: ["city": "Paris"])

    static let toolChat = #"""
        {"model":"haiku","max_tokens":64,"temperature":0.3,"top_p":0.9,"stop":"END",
         "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
         "tool_choice":"required",
         "messages":[{"role":"system","content":"Be terse."},
           {"role":"user","content":[{"type":"text","text":"weather?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]},
           {"role":"assistant","content":null,"tool_calls":[{"id":"call_0","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},
           {"role":"tool","tool_call_id":"call_0","content":"{\"temp\":21}"},{"role":"user","content":"and Paris?"}]}
        """#

    @Test func chatWholeAndStreamedWithToolsBothWays() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        var reply = FakeUpstream.Reply.text(
            "Checking the weather.", usage: Usage(inputTokens: 1_000_000, outputTokens: 100_000, cachedTokens: 400_000, cacheWriteTokens: 100_000))
        reply.toolUses = [Self.weather]
        upstream.setDefault(reply)
        let clock = ManualClock(Date(timeIntervalSince1970: 1_767_225_600))  // 2026-01-01T00:00:00Z
        try await Harness.with(config(upstream), clock: clock) { h in
            let r = try await h.chat(Self.toolChat)
            #expect(r.status == 200, "\(r.text)")
            let msg = r.json["choices"]?.arrayValue?.first?["message"]
            #expect(msg?["content"] == "Checking the weather.")
            let call = msg?["tool_calls"]?.arrayValue?.first
            #expect(call?["id"] == "tooluse_w1")
            #expect(call?["function"]?["name"] == "get_weather")
            #expect(try JSON.parse(call?["function"]?["arguments"]?.stringValue ?? "") == ["city": "Paris"])
            #expect(r.json["choices"]?.arrayValue?.first?["finish_reason"] == "tool_calls")
            #expect(r.json["usage"]?["prompt_tokens"] == 1_000_000)
            #expect(r.json["usage"]?["prompt_tokens_details"]?["cached_tokens"] == 400_000)
            // 500k × 0.80 + 400k read × 0.08 + 100k written × 1.00 + 100k × 4.00, per million.
            #expect(r.header("X-Sluice-Cost-Usd") == "0.932")
            let sent = try #require(upstream.received.last)
            #expect(sent.path == Self.haikuPath + "/converse")
            #expect(sent.headers["x-amz-date"] == "20260101T000000Z")
            let b = try #require(sent.json)
            #expect(b["system"] == [["text": "Be terse."]])
            #expect(b["messages"]?.arrayValue?.map { $0["role"]?.stringValue } == ["user", "assistant", "user"])
            let first = b["messages"]?.item(0)?["content"]?.arrayValue
            #expect(first?[1]["image"] == ["format": "png", "source": ["bytes": "iVBORw0KGgo="]])
            #expect(b["messages"]?.item(1)?["content"]?.item(0)?["toolUse"] == ["toolUseId": "call_0", "name": "get_weather", "input": ["city": "Rome"]])
            let result = b["messages"]?.item(2)?["content"]?.item(0)?["toolResult"]
            #expect(result == ["toolUseId": "call_0", "content": [["json": ["temp": 21]]]])
            #expect(b["messages"]?.item(2)?["content"]?.item(1) == ["text": "and Paris?"])
            #expect(b["inferenceConfig"] == ["maxTokens": 64, "temperature": 0.3, "topP": 0.9, "stopSequences": ["END"]])
            #expect(b["toolConfig"]?["toolChoice"] == ["any": [:]])
            #expect(b["toolConfig"]?["tools"]?.item(0)?["toolSpec"]?["name"] == "get_weather")
            #expect(b["toolConfig"]?["tools"]?.item(0)?["toolSpec"]?["inputSchema"]?["json"]?["type"] == "object")
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.provider == "bed")
            #expect(rec.usage == Usage(inputTokens: 1_000_000, outputTokens: 100_000, cachedTokens: 400_000, cacheWriteTokens: 100_000))
            #expect(abs((rec.costUSD ?? 0) - 0.932) < 1e-9)

            let s = try await h.chat(Self.toolChat.replacingOccurrences(of: #""max_tokens":64,"#, with: #""max_tokens":64,"stream":true,"#))
            #expect(s.status == 200)
            #expect(upstream.received.last?.path == Self.haikuPath + "/converse-stream")
            #expect(upstream.received.last?.headers["accept"] == "application/vnd.amazon.eventstream")
            let events = Harness.events(s.body)
            #expect(events.last == "[DONE]")
            let chunks = events.dropLast().compactMap { try? JSON.parse($0) }
            let delta = { (c: JSON) in c["choices"]?.arrayValue?.first?["delta"] }
            #expect(chunks.compactMap { delta($0)?["content"]?.stringValue }.joined() == "Checking the weather.")
            let calls = chunks.compactMap { delta($0)?["tool_calls"]?.arrayValue?.first }
            #expect(calls.compactMap { $0["id"]?.stringValue } == ["tooluse_w1"])
            #expect(try JSON.parse(calls.compactMap { $0["function"]?["arguments"]?.stringValue }.joined()) == ["city": "Paris"])
            #expect(chunks.compactMap { $0["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue } == ["tool_calls"])
            let srec = try await h.record(s.header("X-Sluice-Call-Id"))
            #expect(srec.stream)
            #expect(srec.status == .ok)
            #expect(srec.usage == rec.usage)
            #expect(abs((srec.costUSD ?? 0) - 0.932) < 1e-9)
        }
        try await BedrockFixture.expectSignaturesVerify(upstream)
    }

    @Test func messagesAndResponsesSurfacesWithEnvironmentCredentials() async throws {
        let upstream = try await FakeUpstream.start(tls: true)
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("Hello from Bedrock."))
        try await Harness.with(config(upstream, token: true, fromEnv: true), env: BedrockFixture.environment) { h in
            let m = try await h.request(
                .POST, "/v1/messages", body: #"{"model":"haiku","max_tokens":100,"system":"Be kind.","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(m.status == 200, "\(m.text)")
            #expect(m.json["type"] == "message")
            #expect(m.json["content"]?.item(0)?["text"] == "Hello from Bedrock.")
            #expect(m.json["stop_reason"] == "end_turn")
            #expect(upstream.received.last?.json?["system"] == [["text": "Be kind."]])
            #expect(upstream.received.last?.headers["x-amz-security-token"] == BedrockFixture.sessionToken)

            let ms = try await h.request(
                .POST, "/v1/messages", body: #"{"model":"haiku","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(ms.status == 200)
            let deltas = sseJSON(ms.body).filter { $0["type"] == "content_block_delta" }
            #expect(deltas.compactMap { $0["delta"]?["text"]?.stringValue }.joined() == "Hello from Bedrock.")

            let r = try await h.request(.POST, "/v1/responses", body: #"{"model":"haiku","input":"hi","instructions":"Be brief."}"#)
            #expect(r.status == 200, "\(r.text)")
            let text = r.json["output"]?.arrayValue?.flatMap { $0["content"]?.arrayValue ?? [] }.compactMap { $0["text"]?.stringValue }.joined()
            #expect(text == "Hello from Bedrock.")
            #expect(upstream.received.last?.json?["system"] == [["text": "Be brief."]])

            let rs = try await h.request(.POST, "/v1/responses", body: #"{"model":"haiku","input":"hi","stream":true}"#)
            #expect(rs.status == 200)
            let events = sseJSON(rs.body)
            #expect(events.filter { $0["type"] == "response.output_text.delta" }.compactMap { $0["delta"]?.stringValue }.joined() == "Hello from Bedrock.")
            #expect(events.last?["type"] == "response.completed")
            #expect(upstream.received.last?.path == Self.haikuPath + "/converse-stream")
        }
        try await BedrockFixture.expectSignaturesVerify(upstream, token: true)
    }

    @Test func aTamperedRequestFailsBotocoreVerification() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        try await Harness.with(config(upstream)) { h in
            let r = try await h.chat(#"{"model":"haiku","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(r.status == 200)
        }
        var tampered = try #require(upstream.received.last)
        tampered.body += Array(" ".utf8)
        let report = try await BedrockFixture.verify([tampered], origin: upstream.origin, token: false)
        #expect(report.verified == 0)
        #expect(report.failures.first?.contains("signature mismatch") == true)
    }

    @Test func aBadCRCBeforeAnyContentFallsOverAndOneAfterContentCutsTheStream() async throws {
        let upstream = try await FakeUpstream.start()
        let backup = try await FakeUpstream.start()
        defer { Task { await upstream.stop(); await backup.stop() } }
        backup.setDefault(.text("backup streams"))
        let start = EventStreamFrame.event("messageStart", ["role": "assistant"])
        let hello = EventStreamFrame.event("contentBlockDelta", ["contentBlockIndex": 0, "delta": ["text": "Hello"]])
        let world = EventStreamFrame.event("contentBlockDelta", ["contentBlockIndex": 0, "delta": ["text": " world"]])
        let stop = EventStreamFrame.event("messageStop", ["stopReason": "end_turn"])
        func frames(_ list: [[UInt8]]) -> FakeUpstream.Reply {
            var r = FakeUpstream.Reply.raw("")
            r.body = list.flatMap { $0 }
            r.headers = [("content-type", "application/vnd.amazon.eventstream")]
            return r
        }
        let retry = "retry: { max_attempts: 2, base_ms: 1, max_ms: 5 }"
        try await Harness.with(config(upstream, backup: backup, retry: retry)) { h in
            let body = #"{"model":"chain","stream":true,"messages":[{"role":"user","content":"go"}]}"#
            upstream.setDefault(frames([EventStreamFrame.corrupted(start), hello, stop]))
            let r = try await h.chat(body)
            #expect(r.status == 200)
            let text = Harness.events(r.body).dropLast().compactMap { try? JSON.parse($0) }
                .compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
            #expect(text == "backup streams")
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.status == .ok)
            #expect(rec.attempts.map(\.provider) == ["bed", "bed", "backup"])
            #expect(rec.attempts.first?.error?.contains("CRC") == true, "\(rec.attempts.first?.error ?? "")")

            upstream.setDefault(frames([start, hello, EventStreamFrame.corrupted(world), stop]))
            let cut = try await h.chat(body)
            let events = Harness.events(cut.body)
            #expect(!events.contains("[DONE]"))
            #expect(try JSON.parse(try #require(events.last))["error"] != nil)
            let crec = try await h.record(cut.header("X-Sluice-Call-Id"))
            #expect(crec.status == .streamInterrupted)
            #expect(crec.attempts.count == 1)
        }
        #expect(backup.requestCount == 1)
        try await BedrockFixture.expectSignaturesVerify(upstream)
    }

    @Test func throttlingIsRetriedThenFallsBackWhetherAnsweredOrStreamed() async throws {
        let upstream = try await FakeUpstream.start()
        let backup = try await FakeUpstream.start()
        defer { Task { await upstream.stop(); await backup.stop() } }
        backup.setDefault(.text("from backup"))
        var throttled = FakeUpstream.Reply.raw(#"{"message":"Too many requests, please wait before trying again."}"#, status: 429)
        throttled.headers = [("x-amzn-ErrorType", "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/")]
        try await Harness.with(config(upstream, backup: backup, retry: "retry: { max_attempts: 3, base_ms: 1, max_ms: 5 }")) { h in
            upstream.setDefault(throttled)
            let r = try await h.chat(#"{"model":"chain","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(r.status == 200, "\(r.text)")
            #expect(r.json["choices"]?.item(0)?["message"]?["content"] == "from backup")
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.attempts.map(\.provider) == ["bed", "bed", "bed", "backup"])
            #expect(rec.attempts.first?.status == 429)
            #expect(rec.attempts.first?.error?.contains("ThrottlingException") == true)

            var frame = FakeUpstream.Reply.raw("")
            frame.body = EventStreamFrame.exception("throttlingException", message: "Too many tokens, please wait.")
            frame.headers = [("content-type", "application/vnd.amazon.eventstream")]
            upstream.setDefault(frame)
            let s = try await h.chat(#"{"model":"chain","stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(s.status == 200)
            let srec = try await h.record(s.header("X-Sluice-Call-Id"))
            #expect(srec.status == .ok)
            #expect(srec.attempts.map(\.provider) == ["bed", "bed", "bed", "backup"])
            #expect(srec.attempts.first?.error?.contains("Too many tokens") == true)
        }
        try await BedrockFixture.expectSignaturesVerify(upstream)
    }

    @Test func validationIsA400AndAccessDeniedMovesOnWithoutRetrying() async throws {
        let upstream = try await FakeUpstream.start()
        let backup = try await FakeUpstream.start()
        defer { Task { await upstream.stop(); await backup.stop() } }
        var invalid = FakeUpstream.Reply.raw(#"{"message":"The maximum tokens you requested exceeds the model limit of 8192."}"#, status: 400)
        invalid.headers = [("x-amzn-ErrorType", "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/")]
        var denied = FakeUpstream.Reply.raw(#"{"Message":"User is not authorized to perform bedrock:InvokeModel"}"#, status: 403)
        denied.headers = [("x-amzn-ErrorType", "AccessDeniedException")]
        try await Harness.with(config(upstream, backup: backup, retry: "retry: { max_attempts: 3, base_ms: 1, max_ms: 5 }")) { h in
            upstream.enqueue(invalid)
            let r = try await h.chat(#"{"model":"chain","max_tokens":99999,"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(r.status == 400)
            #expect(r.json["error"]?["message"]?.stringValue?.contains("exceeds the model limit of 8192") == true, "\(r.text)")
            #expect(backup.requestCount == 0)
            #expect(upstream.requestCount == 1)

            upstream.enqueue(denied)
            let d = try await h.chat(#"{"model":"chain","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(d.status == 200)
            let rec = try await h.record(d.header("X-Sluice-Call-Id"))
            #expect(rec.attempts.map(\.provider) == ["bed", "backup"])
            #expect(rec.attempts.first?.error?.contains("bedrock:InvokeModel") == true)

            let url = try await h.chat(#"{"model":"haiku","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}"#)
            #expect(url.status == 400)
            #expect(url.json["error"]?["message"]?.stringValue?.contains("base64 data URL") == true, "\(url.text)")
            #expect(upstream.requestCount == 2)
        }
        try await BedrockFixture.expectSignaturesVerify(upstream)
    }

    /// The frames the fake sends (and the unit tests decode) are what botocore's own event-stream
    /// parser reads, and botocore refuses the corrupted frame too.
    @Test func botocoreReadsTheFakesFrames() async throws {
        var reply = FakeUpstream.Reply.text("Hi there")
        reply.toolUses = [Self.weather]
        let frames = FakeBedrockAnswer.frames(for: [:], reply: reply) + [EventStreamFrame.exception("throttlingException", message: "slow down")]
        let hex = frames.flatMap { $0 }.map { String(format: "%02x", $0) }.joined()
        let script = #"""
            import json, sys
            from botocore.eventstream import EventStreamBuffer, ChecksumMismatch
            spec = json.load(open(sys.argv[1]))
            buf = EventStreamBuffer(); buf.add_data(bytes.fromhex(spec["frames"]))
            out = [{"headers": m.headers, "payload": json.loads(m.payload)} for m in buf]
            bad = EventStreamBuffer(); data = bytearray(bytes.fromhex(spec["frames"])); data[-1] ^= 0xFF; bad.add_data(bytes(data))
            try:
                list(bad); refused = False
            except ChecksumMismatch:
                refused = True
            print(json.dumps({"messages": out, "refused": refused}))
            """#
        let out = try JSON.parse(try await BedrockFixture.runPython(script, input: ["frames": .string(hex)]))
        let messages = out["messages"]?.arrayValue ?? []
        #expect(messages.count == frames.count)
        #expect(messages.compactMap { $0["headers"]?[":event-type"]?.stringValue }.first == "messageStart")
        #expect(messages.last?["headers"]?[":exception-type"] == "throttlingException")
        #expect(messages.last?["payload"] == ["message": "slow down"])
        #expect(out["refused"] == true)
    }
}
