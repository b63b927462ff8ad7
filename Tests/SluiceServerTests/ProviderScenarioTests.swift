import Foundation
import SluiceCore
import SluiceTesting
import Testing

/// The shared scenario list: every scenario goes through `/v1/chat/completions`
/// to every provider type at a FakeUpstream speaking that provider's API. The
/// client sees the same OpenAI shape whichever provider answered, and each
/// upstream receives the request in its own shape.
enum Scenario: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case plain, systemPrompt, multiTurn, tools, parallelTools, toolResults, jsonSchema, images
    case stream, streamWithTools, usageWithCache, error

    var testDescription: String { rawValue }
}

/// How the gateway reaches the fake upstream.
enum Transport: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// Plain `http://`: whole answers take Sluice's lean client, streams AsyncHTTPClient.
    case http
    /// `https://` with a test CA as the provider's `ca_file`: everything takes AsyncHTTPClient over TLS,
    /// the path of every real provider.
    case https

    var testDescription: String { rawValue }
}

/// Serialized: sixty gateways at once would starve the tests that time deadlines.
@Suite(.serialized) struct ProviderScenarioTests {
    static let weatherTools = #"""
        "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},
                 {"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{"zone":{"type":"string"}}}}}]
        """#
    static let labelSchema: JSON = [
        "type": "object", "properties": ["label": ["type": "string", "enum": ["bug", "feature"]]], "required": ["label"],
    ]
    static let weatherCall = FakeUpstream.ToolUse(id: "toolu_w1", name: "get_weather", input: ["city": "Paris"])
    static let timeCall = FakeUpstream.ToolUse(id: "toolu_t2", name: "get_time", input: ["zone": "CET"])

    @Test(arguments: ScenarioProvider.allCases, Scenario.allCases)
    func scenario(_ provider: ScenarioProvider, _ scenario: Scenario) async throws {
        try await run(scenario, provider, over: .http)
    }

    /// The same list over TLS: a FakeUpstream serving HTTPS with a certificate of a CA made at
    /// test time, trusted through the provider's `ca_file`.
    @Test(arguments: ScenarioProvider.allCases, Scenario.allCases)
    func scenarioOverTLS(_ provider: ScenarioProvider, _ scenario: Scenario) async throws {
        try await run(scenario, provider, over: .https)
    }

    func run(_ scenario: Scenario, _ provider: ScenarioProvider, over transport: Transport) async throws {
        let upstream = try await FakeUpstream.start(tls: transport == .https)
        defer { Task { await upstream.stop() } }
        #expect(upstream.baseURL.hasPrefix(transport.rawValue + "://"))
        try await Harness.with(provider.config(upstream)) { h in
            try await run(scenario, provider, upstream, h)
        }
        // What the cloud providers sent verifies with libraries Sluice did not write: botocore
        // recomputes Bedrock's SigV4 signatures; PyJWT checked Vertex's JWTs at the token endpoint.
        if provider == .bedrock, pythonHasBotocore { try await BedrockFixture.expectSignaturesVerify(upstream) }
        if provider == .vertexGemini || provider == .vertexClaude, pythonHasPyJWT {
            #expect(upstream.vertex.tokenRequests == 1)
            #expect(upstream.vertex.rejections.isEmpty)
        }
    }

    func run(_ scenario: Scenario, _ provider: ScenarioProvider, _ upstream: FakeUpstream, _ h: Harness) async throws {
        func sent() throws -> JSON { try #require(upstream.received.last?.json) }
        switch scenario {
        case .plain:
            upstream.setDefault(.text("Hello back."))
            let r = try await h.chat(#"{"model":"m","max_tokens":50,"temperature":0.2,"top_p":0.9,"stop":["END"],"messages":[{"role":"user","content":"hello there"}]}"#)
            try expectOK(r)
            #expect(r.json["object"] == "chat.completion")
            #expect(message(r)?["content"] == "Hello back.")
            #expect(finish(r) == "stop")
            #expect(r.json["usage"]?["prompt_tokens"] == 11)
            #expect(r.json["usage"]?["completion_tokens"] == 7)
            #expect(upstream.received.last?.path == provider.expectedPath(stream: false))
            #expect(provider.turns(try sent()) == ["user:hello there"])
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.status == .ok)
            #expect(rec.provider == "p")
            #expect(rec.usage == Usage(inputTokens: 11, outputTokens: 7))

        case .systemPrompt:
            upstream.setDefault(.text("Terse."))
            let r = try await h.chat(#"{"model":"m","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"hi"}]}"#)
            try expectOK(r)
            #expect(provider.systemText(try sent()) == "You are terse.")
            #expect(provider.turns(try sent()) == ["user:hi"])
            #expect(message(r)?["content"] == "Terse.")

        case .multiTurn:
            let r = try await h.chat(#"{"model":"m","messages":[{"role":"user","content":"one"},{"role":"assistant","content":"two"},{"role":"user","content":"three"}]}"#)
            try expectOK(r)
            #expect(provider.turns(try sent()) == ["user:one", "assistant:two", "user:three"])
            #expect(message(r)?["content"] == "fake answer to: three")

        case .tools:
            var reply = FakeUpstream.Reply.text("")
            reply.toolUses = [Self.weatherCall]
            upstream.setDefault(reply)
            let r = try await h.chat(#"""
                {"model":"m","messages":[{"role":"user","content":"weather in Paris?"}],\#(Self.weatherTools),
                 "tool_choice":{"type":"function","function":{"name":"get_weather"}}}
                """#)
            try expectOK(r)
            let offered = provider.tools(try sent())
            #expect(offered.names == ["get_weather", "get_time"])
            #expect(offered.forced == "get_weather")
            let calls = try toolCalls(r)
            #expect(calls.map(\.name) == ["get_weather"])
            #expect(calls.map(\.arguments) == [["city": "Paris"]])
            #expect(calls.allSatisfy { !$0.id.isEmpty })
            #expect(finish(r) == "tool_calls")

        case .parallelTools:
            var reply = FakeUpstream.Reply.text("")
            reply.toolUses = [Self.weatherCall, Self.timeCall]
            upstream.setDefault(reply)
            let r = try await h.chat(#"{"model":"m","messages":[{"role":"user","content":"weather and time?"}],\#(Self.weatherTools)}"#)
            try expectOK(r)
            let calls = try toolCalls(r)
            #expect(calls.map(\.name) == ["get_weather", "get_time"])
            #expect(calls.map(\.arguments) == [["city": "Paris"], ["zone": "CET"]])
            #expect(Set(calls.map(\.id)).count == 2)
            #expect(finish(r) == "tool_calls")

        case .toolResults:
            upstream.setDefault(.text("Sunny, and it is noon."))
            let r = try await h.chat(#"""
                {"model":"m",\#(Self.weatherTools),"messages":[{"role":"user","content":"weather and time?"},
                 {"role":"assistant","content":null,"tool_calls":[
                   {"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
                   {"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{\"zone\":\"CET\"}"}}]},
                 {"role":"tool","tool_call_id":"call_a","content":"{\"temp\":21}"},
                 {"role":"tool","tool_call_id":"call_b","content":"{\"time\":\"12:00\"}"}]}
                """#)
            try expectOK(r)
            let refs = provider.isGemini ? ["get_weather", "get_time"] : ["call_a", "call_b"]
            #expect(provider.toolResults(try sent()) == [refs[0] + #"={"temp":21}"#, refs[1] + #"={"time":"12:00"}"#])
            #expect(message(r)?["content"] == "Sunny, and it is noon.")
            #expect(finish(r) == "stop")

        case .jsonSchema:
            upstream.setDefault(.text(#"{"label":"bug"}"#))
            let r = try await h.chat(#"""
                {"model":"m","messages":[{"role":"user","content":"the app crashes"}],
                 "response_format":{"type":"json_schema","json_schema":{"name":"label","schema":\#(Self.labelSchema.jsonString)}}}
                """#)
            try expectOK(r)
            #expect(provider.requestedSchema(try sent()) == Self.labelSchema)
            let text = try #require(message(r)?["content"]?.stringValue)
            #expect(try JSON.parse(text) == ["label": "bug"])
            #expect(message(r)?["tool_calls"] == nil)
            #expect(finish(r) == "stop")

        case .images where provider == .bedrock:
            // Bedrock takes image bytes only: an image URL is a 400 that says to send a data URL, and a data URL goes as bytes.
            let refused = try await h.chat(#"""
                {"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"what are these?"},
                  {"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}
                """#)
            #expect(refused.status == 400)
            #expect(refused.json["error"]?["message"]?.stringValue?.contains("base64 data URL") == true, "\(refused.text)")
            let r = try await h.chat(#"""
                {"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"what are these?"},
                  {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]}
                """#)
            try expectOK(r)
            #expect(provider.images(try sent()) == ["base64:image/png:iVBORw0KGgo="])
            #expect(message(r)?["content"] == "fake answer to: what are these?")

        case .images:
            let r = try await h.chat(#"""
                {"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"what are these?"},
                  {"type":"image_url","image_url":{"url":"https://example.com/cat.png"}},
                  {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]}
                """#)
            try expectOK(r)
            #expect(provider.images(try sent()) == ["url:https://example.com/cat.png", "base64:image/png:iVBORw0KGgo="])
            #expect(message(r)?["content"] == "fake answer to: what are these?")

        case .stream:
            upstream.setDefault(.text("Streaming works, event by event."))
            let body = #"{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"go"}]}"#
            let s = try await h.chat(body)
            #expect(s.status == 200)
            #expect(s.header("content-type")?.hasPrefix("text/event-stream") == true)
            #expect(upstream.received.last?.path == provider.expectedPath(stream: true))
            let events = Harness.events(s.body)
            #expect(events.last == "[DONE]")
            let chunks = events.dropLast().compactMap { try? JSON.parse($0) }
            #expect(chunks.allSatisfy { $0["object"] == "chat.completion.chunk" })
            #expect(deltas(chunks, "content").joined() == "Streaming works, event by event.")
            #expect(chunks.compactMap { $0["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue } == ["stop"])
            #expect(chunks.last?["usage"]?["completion_tokens"] == 7)
            let whole = try await h.chat(body.replacingOccurrences(of: #""stream":true,"stream_options":{"include_usage":true},"#, with: ""))
            #expect(message(whole)?["content"]?.stringValue == deltas(chunks, "content").joined())
            let rec = try await h.record(s.header("X-Sluice-Call-Id"))
            #expect(rec.stream)
            #expect(rec.status == .ok)
            #expect(rec.usage == Usage(inputTokens: 11, outputTokens: 7))

        case .streamWithTools:
            var reply = FakeUpstream.Reply.text("Let me check.")
            reply.toolUses = [Self.weatherCall, Self.timeCall]
            upstream.setDefault(reply)
            let s = try await h.chat(#"{"model":"m","stream":true,"messages":[{"role":"user","content":"weather and time?"}],\#(Self.weatherTools)}"#)
            #expect(s.status == 200)
            let chunks = Harness.events(s.body).dropLast().compactMap { try? JSON.parse($0) }
            #expect(deltas(chunks, "content").joined() == "Let me check.")
            var names: [Int: String] = [:]
            var ids: [Int: String] = [:]
            var args: [Int: String] = [:]
            for c in chunks {
                for call in c["choices"]?.arrayValue?.first?["delta"]?["tool_calls"]?.arrayValue ?? [] {
                    let i = try #require(call["index"]?.intValue)
                    if let n = call["function"]?["name"]?.stringValue { names[i, default: ""] += n }
                    if let id = call["id"]?.stringValue { ids[i] = id }
                    args[i, default: ""] += call["function"]?["arguments"]?.stringValue ?? ""
                }
            }
            #expect(names == [0: "get_weather", 1: "get_time"])
            #expect(try args.sorted { $0.key < $1.key }.map { try JSON.parse($0.value) } == [["city": "Paris"], ["zone": "CET"]])
            #expect(ids.count == 2 && Set(ids.values).count == 2)
            #expect(chunks.compactMap { $0["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue } == ["tool_calls"])

        case .usageWithCache:
            upstream.setDefault(.text("cached", usage: provider.cacheUsage))
            for stream in [false, true] {
                let body = #"{"model":"m","stream":\#(stream),"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"long prompt"}]}"#
                let r = try await h.chat(stream ? body : body.replacingOccurrences(of: #""stream_options":{"include_usage":true},"#, with: ""))
                #expect(r.status == 200)
                let usage = stream ? Harness.events(r.body).dropLast().compactMap { try? JSON.parse($0) }.last?["usage"] : r.json["usage"]
                #expect(usage?["prompt_tokens"] == 1_000_000, "stream: \(stream)")
                #expect(usage?["prompt_tokens_details"]?["cached_tokens"] == 400_000, "stream: \(stream)")
                let rec = try await h.record(r.header("X-Sluice-Call-Id"))
                #expect(rec.usage == provider.cacheUsage, "stream: \(stream)")
                let cost = try #require(rec.costUSD)
                #expect(abs(cost - provider.handComputedCost) < 1e-9, "stream: \(stream): \(cost) ≠ \(provider.handComputedCost)")
                #expect(abs(rec.savedUSD - provider.handComputedSavings) < 1e-9, "stream: \(stream): saved \(rec.savedUSD)")
                let stored = try await h.request(.GET, "/admin/calls/\(rec.callID)")
                #expect(stored.json["cached_tokens"] == 400_000)
                #expect(stored.json["saved_usd"]?.doubleValue.map { abs($0 - provider.handComputedSavings) < 1e-9 } == true)
            }

        case .error:
            upstream.setDefault(.raw(provider.errorBody("max_tokens: 999999 is larger than this model allows"), status: 400))
            let r = try await h.chat(#"{"model":"m","max_tokens":999999,"messages":[{"role":"user","content":"x"}]}"#)
            #expect(r.status == 400)
            #expect(r.json["error"]?["code"] == "invalid_request")
            #expect(r.json["error"]?["message"]?.stringValue?.contains("max_tokens: 999999 is larger than this model allows") == true)
            let s = try await h.chat(#"{"model":"m","stream":true,"max_tokens":999999,"messages":[{"role":"user","content":"x"}]}"#)
            #expect(s.status == 400)
            #expect(s.json["error"]?["message"]?.stringValue?.contains("larger than this model allows") == true)
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.status == .error)
            #expect(rec.httpStatus == 400)
            #expect(rec.error?.contains("larger than this model allows") == true)
        }
    }

    func expectOK(_ r: HTTPResult, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(r.status == 200, "\(r.text)", sourceLocation: sourceLocation)
        if r.status != 200 { throw HarnessError("status \(r.status)") }
    }

    func message(_ r: HTTPResult) -> JSON? { r.json["choices"]?.arrayValue?.first?["message"] }

    func finish(_ r: HTTPResult) -> String? { r.json["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue }

    func deltas(_ chunks: [JSON], _ key: String) -> [String] {
        chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?[key]?.stringValue }
    }

    func toolCalls(_ r: HTTPResult) throws -> [(id: String, name: String, arguments: JSON)] {
        try (message(r)?["tool_calls"]?.arrayValue ?? []).map { c in
            (c["id"]?.stringValue ?? "", c["function"]?["name"]?.stringValue ?? "",
             try JSON.parse(c["function"]?["arguments"]?.stringValue ?? ""))
        }
    }
}
