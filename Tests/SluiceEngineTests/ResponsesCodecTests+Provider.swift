import AsyncHTTPClient
import Foundation
import SluiceCore
@testable import SluiceProviders
import SluiceTesting
import Testing

/// OpenAI's Responses API as a native upstream, against a fake OpenAI.
extension ResponsesCodecTests {
    static let nativeBody = #"""
        {"model":"gpt-4.1","previous_response_id":"resp_earlier","store":true,"instructions":"Be brief.",
         "tools":[{"type":"web_search"}],
         "input":[{"type":"message","id":"msg_old","role":"assistant","status":"completed","content":[{"type":"output_text","text":"Hi.","annotations":[]}]},
                  {"type":"message","role":"user","content":"Weather in Paris?"}]}
        """#

    func withProvider(
        nativeResponses: Bool = true, dialect: OpenAIProvider.Dialect = .openAI, _ body: (OpenAIProvider, FakeUpstream) async throws -> Void
    ) async throws {
        let upstream = try await FakeUpstream.start()
        let clients = HTTPClients(configuration: HTTPClient.Configuration())
        let base = dialect == .openAI ? upstream.baseURL : String(upstream.baseURL.dropLast(3))
        let provider = OpenAIProvider(
            name: "openai",
            settings: .init(baseURL: base, apiKey: "sk-test", dialect: dialect, nativeResponses: nativeResponses),
            clients: clients)
        do {
            try await body(provider, upstream)
        } catch {
            try? await clients.shutdown()
            await upstream.stop()
            throw error
        }
        try await clients.shutdown()
        await upstream.stop()
    }

    func nativeRequest(stream: Bool) throws -> UpstreamRequest {
        let r = try request(Self.nativeBody)
        #expect(r.nativeOnly == ["tools[0] (web_search)"])
        return UpstreamRequest(
            body: ResponsesCodec.chatBody(r).body, model: "gpt-4.1-2025-04-14", stream: stream,
            native: r.native.addressed(to: "gpt-4.1-2025-04-14", stream: stream))
    }

    @Test func aNativeRequestGoesToResponsesWithoutState() async throws {
        try await withProvider { provider, upstream in
            #expect(provider.nativeFormats == [.openAIResponses])
            upstream.setDefault(.text("Sunny, 21C.", usage: Usage(inputTokens: 50, outputTokens: 6, cachedTokens: 32)))
            let answer = try await provider.complete(try nativeRequest(stream: false))
            let sent = try #require(upstream.received.last)
            #expect(sent.path == "/v1/responses" && sent.headers["authorization"] == "Bearer sk-test")
            let json = try #require(sent.json?.objectValue)
            #expect(json["model"] == "gpt-4.1-2025-04-14" && json["store"] == false && json["previous_response_id"] == nil)
            #expect(json["tools"] == [["type": "web_search"]] && json["instructions"] == "Be brief.")
            #expect(json["input"]?.arrayValue?.first?["id"] == nil)
            // The client gets the upstream's bytes; the Engine reads the chat shape.
            let native = try #require(answer.native)
            #expect(try JSON.parse(native)["object"] == "response")
            #expect(answer.text == "Sunny, 21C." && answer.json["object"] == "chat.completion")
            #expect(answer.usage == Usage(inputTokens: 50, outputTokens: 6, cachedTokens: 32))
            #expect(answer.json["choices"]?.arrayValue?.first?["finish_reason"] == "stop")

            let stream = try await provider.stream(try nativeRequest(stream: true))
            var chunks: [StreamChunk] = []
            while let c = try await stream.next() { chunks.append(c) }
            #expect(upstream.received.last?.json?["stream"] == true)
            #expect(chunks.compactMap { ChatText.chunkDelta($0.json) }.joined() == "Sunny, 21C.")
            let events = try Self.events(chunks.compactMap(\.native).flatMap { $0 })
            #expect(events.first?.name == "response.created" && events.last?.name == "response.completed")
            #expect(chunks.last?.usage == Usage(inputTokens: 50, outputTokens: 6, cachedTokens: 32))
        }
    }

    @Test func withoutTheSettingTheChatShapeGoesAsBefore() async throws {
        try await withProvider(nativeResponses: false) { provider, upstream in
            #expect(provider.nativeFormats.isEmpty)
            _ = try await provider.complete(try nativeRequest(stream: false))
            #expect(upstream.received.last?.path == "/v1/chat/completions")
            #expect(upstream.received.last?.json?["messages"] != nil)
        }
    }

    @Test func azureServesResponsesOnItsV1Surface() async throws {
        try await withProvider(dialect: .azure(apiVersion: "2024-10-21")) { provider, upstream in
            _ = try await provider.complete(try nativeRequest(stream: false))
            let sent = try #require(upstream.received.last)
            #expect(sent.path == "/openai/v1/responses" && sent.query == "" && sent.headers["api-key"] == "sk-test")
            #expect(sent.json?["model"] == "gpt-4.1-2025-04-14")
        }
    }
}
