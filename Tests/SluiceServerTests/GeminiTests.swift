import Foundation
import SluiceCore
@testable import SluiceProviders
import SluiceTesting
import Testing

@Suite struct GeminiProviderTests {
    func config(_ upstream: FakeUpstream) -> String {
        """
        providers:
          gem: { type: gemini, base_url: "http://127.0.0.1:\(upstream.port)/v1beta", api_key: "gem-secret-key-1" }
        models:
          flash: { targets: [ { provider: gem, model: gemini-2.5-flash } ] }
        \(noRetry)
        """
    }

    @Test func chatStreamsToolsAndCachedUsageTranslate() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        var reply = FakeUpstream.Reply.text("Checking the weather.", usage: Usage(inputTokens: 1_000_000, outputTokens: 100_000, cachedTokens: 400_000))
        reply.toolUses = [FakeUpstream.ToolUse(id: "ignored", name: "get_weather", input: ["city": "Paris"])]
        upstream.setDefault(reply)
        try await Harness.with(config(upstream)) { h in
            let body = #"""
                {"model":"flash","max_tokens":64,"temperature":0.3,"stop":"END",
                 "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],"tool_choice":"required",
                 "messages":[{"role":"system","content":"Be terse."},{"role":"user","content":"weather?"},
                   {"role":"assistant","content":null,"tool_calls":[{"id":"call_0","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},
                   {"role":"tool","tool_call_id":"call_0","content":"{\"temp\":21}"},{"role":"user","content":"and Paris?"}]}
                """#
            let r = try await h.chat(body)
            #expect(r.status == 200, "\(r.text)")
            let msg = r.json["choices"]?.arrayValue?.first?["message"]
            #expect(msg?["content"] == "Checking the weather.")
            #expect(msg?["tool_calls"]?.arrayValue?.first?["function"]?["name"] == "get_weather")
            #expect(r.json["choices"]?.arrayValue?.first?["finish_reason"] == "tool_calls")
            #expect(r.json["usage"]?["prompt_tokens_details"]?["cached_tokens"] == 400_000)
            let sent = try #require(upstream.received.last)
            #expect(sent.path == "/v1beta/models/gemini-2.5-flash:generateContent")
            #expect(sent.headers["x-goog-api-key"] == "gem-secret-key-1")
            let g = try #require(sent.json)
            #expect(g["systemInstruction"]?["parts"]?.arrayValue?.first?["text"] == "Be terse.")
            #expect(g["contents"]?.arrayValue?.map { $0["role"]?.stringValue } == ["user", "model", "user"])
            #expect(g["contents"]?.arrayValue?[2]["parts"]?.arrayValue?.first?["functionResponse"]?["response"] == ["temp": 21])
            #expect(g["generationConfig"]?["maxOutputTokens"] == 64)
            #expect(g["generationConfig"]?["stopSequences"] == ["END"])
            #expect(g["toolConfig"]?["functionCallingConfig"]?["mode"] == "ANY")
            // gemini-2.5-flash at its built-in price: 600k × 0.30 + 400k cached × 0.075 + 100k × 2.50, per million.
            #expect(r.header("X-Sluice-Cost-Usd") == "0.46")
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.usage == Usage(inputTokens: 1_000_000, outputTokens: 100_000, cachedTokens: 400_000))

            let s = try await h.chat(body.replacingOccurrences(of: #""max_tokens":64,"#, with: #""max_tokens":64,"stream":true,"#))
            #expect(s.status == 200)
            #expect(upstream.received.last?.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent")
            #expect(upstream.received.last?.query == "alt=sse")
            let events = Harness.events(s.body)
            #expect(events.last == "[DONE]")
            let chunks = events.dropLast().compactMap { try? JSON.parse($0) }
            #expect(chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined() == "Checking the weather.")
            let args = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["tool_calls"]?.arrayValue?.first?["function"]?["arguments"]?.stringValue }.joined()
            #expect(try JSON.parse(args) == ["city": "Paris"])
            #expect(chunks.compactMap { $0["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue } == ["tool_calls"])
            let srec = try await h.record(s.header("X-Sluice-Call-Id"))
            #expect(srec.usage.cachedTokens == 400_000)

            let bad = try await h.chat(#"{"model":"flash","logprobs":true,"messages":[{"role":"user","content":"x"}]}"#)
            #expect(bad.status == 400)
            #expect(bad.json["error"]?["message"]?.stringValue?.contains("'logprobs' cannot be sent to a Gemini model") == true)
        }
    }
}

@Suite struct GeminiEmbeddingsAndSchemaTests {
    @Test func embeddingsGoToBatchEmbedContents() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let yaml = """
            providers:
              gem: { type: gemini, base_url: "http://127.0.0.1:\(upstream.port)/v1beta", api_key: "gem-secret-key-1" }
            models:
              embed: { targets: [ { provider: gem, model: gemini-embedding-001 } ] }
            pricing:
              gemini-embedding-001: { input: 0.15, output: 0 }
            \(noRetry)
            """
        try await Harness.with(yaml) { h in
            let r = try await h.request(.POST, "/v1/embeddings", body: #"{"model":"embed","input":["first text","second"],"dimensions":3}"#)
            #expect(r.status == 200, "\(r.text)")
            #expect(r.json["object"] == "list")
            #expect(r.json["data"]?.arrayValue?.count == 2)
            #expect(r.json["data"]?.arrayValue?[1]["index"] == 1)
            #expect(r.json["data"]?.arrayValue?[0]["embedding"] == [0.1, 0.2, -0.3])
            // Gemini reports no usage for embeddings: ~4 characters a token, "first text" 3 + "second" 2.
            #expect(r.json["usage"]?["prompt_tokens"] == 5)
            let sent = try #require(upstream.received.last)
            #expect(sent.path == "/v1beta/models/gemini-embedding-001:batchEmbedContents")
            #expect(sent.headers["x-goog-api-key"] == "gem-secret-key-1")
            let requests = try #require(sent.json?["requests"]?.arrayValue)
            #expect(requests.map { $0["content"]?["parts"]?.arrayValue?.first?["text"]?.stringValue } == ["first text", "second"])
            #expect(requests.first?["model"] == "models/gemini-embedding-001")
            #expect(requests.first?["outputDimensionality"] == 3)
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.usage.inputTokens == 5)
            #expect(rec.costUSD.map { abs($0 - 5 * 0.15 / 1e6) < 1e-15 } == true)

            let b64 = try await h.request(.POST, "/v1/embeddings", body: #"{"model":"embed","input":"x","encoding_format":"base64"}"#)
            let encoded = try #require(b64.json["data"]?.arrayValue?.first?["embedding"]?.stringValue)
            let floats = try #require(Data(base64Encoded: encoded)).withUnsafeBytes { raw in
                (0..<3).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
            }
            #expect(floats == [0.1, 0.2, -0.3])

            let tokens = try await h.request(.POST, "/v1/embeddings", body: #"{"model":"embed","input":[[1,2,3]]}"#)
            #expect(tokens.status == 400)
            #expect(tokens.json["error"]?["message"]?.stringValue?.contains("'input[0]' cannot be sent to a Gemini model") == true)
        }
    }

    @Test func schemasBeyondTheOpenAPISubsetGoAsResponseJsonSchema() throws {
        let simple: JSON = ["type": "object", "properties": ["n": ["type": "integer", "minimum": 0]], "required": ["n"]]
        let rich: JSON = ["type": "object", "properties": ["n": ["type": ["integer", "null"]]], "additionalProperties": false]
        func config(_ schema: JSON) throws -> JSON? {
            let body: JSONObject = [
                "model": "x", "messages": [["role": "user", "content": "hi"]],
                "response_format": ["type": "json_schema", "json_schema": ["name": "s", "schema": schema]],
            ]
            return try GeminiTranslation.request(body)["generationConfig"]
        }
        #expect(try config(simple)?["responseSchema"] == simple)
        #expect(try config(simple)?["responseJsonSchema"] == nil)
        #expect(try config(rich)?["responseJsonSchema"] == rich)
        #expect(try config(rich)?["responseSchema"] == nil)
        #expect(try config(rich)?["responseMimeType"] == "application/json")
    }
}
