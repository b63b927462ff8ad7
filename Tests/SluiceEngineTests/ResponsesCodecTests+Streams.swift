import AsyncHTTPClient
import Foundation
import NIOCore
import SluiceCore
@testable import SluiceProviders
import SluiceTesting
import Testing

/// Streams both ways: chat chunks written as Responses events, and an upstream's
/// Responses events read as chat chunks; and the official SDK reading what Sluice writes.
extension ResponsesCodecTests {
    /// The decoded events of an SSE byte stream: (event name, parsed data).
    static func events(_ bytes: [UInt8]) throws -> [(name: String?, json: JSONObject)] {
        var decoder = SSEDecoder()
        decoder.feed(bytes)
        var out: [(String?, JSONObject)] = []
        while let e = decoder.next() { out.append((e.event, try #require(try JSON.parse(e.data).objectValue))) }
        #expect(!decoder.hasPartialEvent)
        return out
    }

    static func chunk(_ delta: JSON, finish: String? = nil) -> JSONObject {
        ["id": "chatcmpl-1", "model": "gpt-4o-mini-2024-07-18",
         "choices": [["index": 0, "delta": delta, "finish_reason": finish.map(JSON.string) ?? .null]]]
    }

    static let usageChunk: JSONObject = [
        "id": "chatcmpl-1", "choices": [],
        "usage": ["prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13, "prompt_tokens_details": ["cached_tokens": 0]],
    ]

    /// A text answer, then two tool calls, written as Responses events.
    static func toolStream() throws -> ([UInt8], ResponsesEventWriter) {
        let r = try ResponsesRequest(body: try JSON.parse(#"{"model":"gpt-4o-mini","input":"Weather?","tools":[{"type":"function","name":"weather"}]}"#))
        var w = ResponsesEventWriter(responseID: "resp_t", createdAt: 1, request: r)
        var out = w.start()
        for c in [
            chunk(["role": "assistant", "content": ""]), chunk(["content": "Let me "]), chunk(["content": "check."]),
            chunk(["tool_calls": [["index": 0, "id": "call_a", "type": "function", "function": ["name": "weather", "arguments": ""]]]]),
            chunk(["tool_calls": [["index": 0, "function": ["arguments": #"{"city":"#]]]]),
            chunk(["tool_calls": [["index": 0, "function": ["arguments": #""Paris"}"#]]]]),
            chunk(["tool_calls": [["index": 1, "id": "call_b", "type": "function", "function": ["name": "weather", "arguments": #"{"city":"Rome"}"#]]]]),
            chunk([:], finish: "tool_calls"), usageChunk,
        ] { out += w.frames(for: c) }
        out += w.finish()
        return (out, w)
    }

    @Test func theWriterStreamsTextThenCalls() throws {
        let (bytes, writer) = try Self.toolStream()
        let events = try Self.events(bytes)
        #expect(events.allSatisfy { $0.name == $0.json["type"]?.stringValue })
        #expect(events.map { $0.json["sequence_number"]?.intValue } == Array(0..<events.count))
        #expect(events.map { $0.json["type"]?.stringValue ?? "" } == [
            "response.created", "response.in_progress",
            "response.output_item.added", "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
            "response.output_text.done", "response.content_part.done", "response.output_item.done",
            "response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
            "response.function_call_arguments.done", "response.output_item.done",
            "response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.done",
            "response.output_item.done", "response.completed",
        ])
        let deltas = events.filter { $0.json["type"] == "response.output_text.delta" }.compactMap { $0.json["delta"]?.stringValue }
        #expect(deltas.joined() == "Let me check.")
        #expect(events[6].json["text"] == "Let me check.")
        let args = events.filter { $0.json["type"] == "response.function_call_arguments.delta" && $0.json["output_index"] == 1 }
        #expect(args.compactMap { $0.json["delta"]?.stringValue }.joined() == #"{"city":"Paris"}"#)
        #expect(events[9].json["item"]?["call_id"] == "call_a" && events[9].json["item"]?["status"] == "in_progress")
        let final = try #require(writer.final)
        #expect(events.last?.json["response"] == .object(final))
        #expect(final["status"] == "completed" && final["id"] == "resp_t" && final["model"] == "gpt-4o-mini-2024-07-18")
        #expect(final["output"]?.arrayValue?.map { $0["id"]?.stringValue } == ["msg_t", "fc_t_0", "fc_t_1"])
        #expect(final["output"]?.arrayValue?[2]["arguments"] == #"{"city":"Rome"}"#)
        #expect(final["usage"]?["total_tokens"] == 13)
        #expect(events[0].json["response"]?["status"] == "in_progress" && events[0].json["response"]?["output"] == [])
    }

    @Test func aCutAnswerIsIncompleteAndAFailureIsNeverAnEnd() throws {
        let r = try ResponsesRequest(body: try JSON.parse(#"{"model":"m","input":"x","max_output_tokens":16}"#))
        var w = ResponsesEventWriter(responseID: "resp_c", createdAt: 1, request: r)
        var out = w.frames(for: Self.chunk(["content": "One"], finish: "length"))
        out += w.finish(usage: Usage(inputTokens: 2, outputTokens: 16))
        let events = try Self.events(out)
        #expect(events.last?.json["type"] == "response.incomplete")
        #expect(events.last?.json["response"]?["incomplete_details"] == ["reason": "max_output_tokens"])
        #expect(events.first { $0.json["type"] == "response.output_item.done" }?.json["item"]?["status"] == "incomplete")
        #expect(w.final?["usage"]?["output_tokens"] == 16)

        var f = ResponsesEventWriter(responseID: "resp_f", createdAt: 1, request: r)
        var failed = f.frames(for: Self.chunk(["content": "Half"]))
        failed += f.failed(SluiceError(.upstreamError, "every target failed"))
        let fe = try Self.events(failed)
        let failedTypes = fe.compactMap { $0.json["type"]?.stringValue }
        #expect(failedTypes.suffix(2) == ["response.output_text.delta", "response.failed"])
        let response = fe.last?.json["response"]
        #expect(response?["status"] == "failed" && response?["error"]?["code"] == "server_error")
        #expect(response?["error"]?["message"] == "every target failed")
        #expect(response?["output"]?.arrayValue?.first?["status"] == "incomplete")

        // After a native upstream's events, a failure continues their numbering and starts nothing.
        var n = ResponsesEventWriter(responseID: "resp_n", createdAt: 1, request: r)
        n.continueAfter(sequenceNumber: 6)
        let nativeFailed = try Self.events(n.failed(SluiceError(.upstreamError, "cut")))
        #expect(nativeFailed.map { $0.json["sequence_number"] } == [7] && nativeFailed.first?.name == "response.failed")

        // Nothing at all still makes one (empty) message.
        var e = ResponsesEventWriter(responseID: "resp_e", createdAt: 1, request: r)
        let empty = try Self.events(e.finish())
        let types = empty.compactMap { $0.json["type"]?.stringValue }
        #expect(types.contains("response.output_text.done"))
        #expect(e.final?["output"]?.arrayValue?.count == 1)
    }

    /// What OpenAI streams for a text answer that ends in a function call (shortened ids).
    static let upstreamStream = """
        event: response.created
        data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_up","object":"response","created_at":1741290958,"status":"in_progress","error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"model":"gpt-4.1-2025-04-14","output":[],"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"store":false,"temperature":1.0,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[{"type":"function","name":"weather","parameters":{"type":"object"},"strict":true}],"top_p":1.0,"truncation":"disabled","usage":null,"user":null,"metadata":{}}}

        event: response.in_progress
        data: {"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_up","object":"response","created_at":1741290958,"status":"in_progress","error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"model":"gpt-4.1-2025-04-14","output":[],"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"store":false,"temperature":1.0,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[{"type":"function","name":"weather","parameters":{"type":"object"},"strict":true}],"top_p":1.0,"truncation":"disabled","usage":null,"user":null,"metadata":{}}}

        event: response.output_item.added
        data: {"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"msg_up","type":"message","status":"in_progress","content":[],"role":"assistant"}}

        event: response.content_part.added
        data: {"type":"response.content_part.added","sequence_number":3,"item_id":"msg_up","output_index":0,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}}

        event: response.output_text.delta
        data: {"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_up","output_index":0,"content_index":0,"delta":"Let me ","logprobs":[],"obfuscation":"x1"}

        event: response.output_text.delta
        data: {"type":"response.output_text.delta","sequence_number":5,"item_id":"msg_up","output_index":0,"content_index":0,"delta":"check.","logprobs":[],"obfuscation":"x2"}

        event: response.output_text.done
        data: {"type":"response.output_text.done","sequence_number":6,"item_id":"msg_up","output_index":0,"content_index":0,"text":"Let me check.","logprobs":[]}

        event: response.content_part.done
        data: {"type":"response.content_part.done","sequence_number":7,"item_id":"msg_up","output_index":0,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":"Let me check."}}

        event: response.output_item.done
        data: {"type":"response.output_item.done","sequence_number":8,"output_index":0,"item":{"id":"msg_up","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"Let me check."}],"role":"assistant"}}

        event: response.output_item.added
        data: {"type":"response.output_item.added","sequence_number":9,"output_index":1,"item":{"id":"fc_up","type":"function_call","status":"in_progress","arguments":"","call_id":"call_up","name":"weather"}}

        event: response.function_call_arguments.delta
        data: {"type":"response.function_call_arguments.delta","sequence_number":10,"item_id":"fc_up","output_index":1,"delta":"{\\"city\\":","obfuscation":"y"}

        event: response.function_call_arguments.delta
        data: {"type":"response.function_call_arguments.delta","sequence_number":11,"item_id":"fc_up","output_index":1,"delta":"\\"Paris\\"}","obfuscation":"z"}

        event: response.function_call_arguments.done
        data: {"type":"response.function_call_arguments.done","sequence_number":12,"item_id":"fc_up","output_index":1,"arguments":"{\\"city\\":\\"Paris\\"}"}

        event: response.output_item.done
        data: {"type":"response.output_item.done","sequence_number":13,"output_index":1,"item":{"id":"fc_up","type":"function_call","status":"completed","arguments":"{\\"city\\":\\"Paris\\"}","call_id":"call_up","name":"weather"}}

        event: response.completed
        data: {"type":"response.completed","sequence_number":14,"response":{"id":"resp_up","object":"response","created_at":1741290958,"status":"completed","error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"model":"gpt-4.1-2025-04-14","parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"store":false,"temperature":1.0,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[{"type":"function","name":"weather","parameters":{"type":"object"},"strict":true}],"top_p":1.0,"truncation":"disabled","user":null,"metadata":{},"output":[{"id":"msg_up","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"text":"Let me check."}],"role":"assistant"},{"id":"fc_up","type":"function_call","status":"completed","arguments":"{\\"city\\":\\"Paris\\"}","call_id":"call_up","name":"weather"}],"usage":{"input_tokens":120,"input_tokens_details":{"cached_tokens":64,"cache_write_tokens":0},"output_tokens":25,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":145}}}


        """

    static func readAll(_ body: String) async throws -> [StreamChunk] {
        let stream = ResponsesChunkStream(body: .bytes(ByteBuffer(string: body)), created: 0)
        var chunks: [StreamChunk] = []
        while let c = try await stream.next() { chunks.append(c) }
        return chunks
    }

    @Test func anUpstreamStreamIsReadAsChatChunksKeepingItsBytes() async throws {
        let chunks = try await Self.readAll(Self.upstreamStream)
        // Every upstream event's bytes, in order, exactly once.
        #expect(chunks.compactMap(\.native).flatMap { $0 } == Array(Self.upstreamStream.utf8))
        #expect(chunks.count == 16)  // 15 events, and the usage-only chunk after response.completed
        let jsons = chunks.map(\.json).filter { $0.count > 0 }
        #expect(jsons.allSatisfy { $0["id"] == "resp_up" && $0["model"] == "gpt-4.1-2025-04-14" })
        #expect(jsons.compactMap { ChatText.chunkDelta($0) }.joined() == "Let me check.")
        let calls = jsons.flatMap { $0["choices"]?.arrayValue?.first?["delta"]?["tool_calls"]?.arrayValue ?? [] }
        #expect(calls.first?["id"] == "call_up" && calls.first?["function"]?["name"] == "weather" && calls.first?["index"] == 0)
        #expect(calls.compactMap { $0["function"]?["arguments"]?.stringValue }.joined() == #"{"city":"Paris"}"#)
        #expect(jsons.compactMap { $0["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue } == ["tool_calls"])
        let last = try #require(chunks.last)
        #expect(last.isUsageOnly && last.native == [])
        #expect(last.usage == Usage(inputTokens: 120, outputTokens: 25, cachedTokens: 64))
    }

    @Test func aFailedOrCutUpstreamStreamThrows() async throws {
        let head = Self.upstreamStream.components(separatedBy: "event: response.output_text.done")[0]
        await #expect(throws: ProviderError.self) { _ = try await Self.readAll(head) }
        let failed = head + """
            event: response.failed
            data: {"type":"response.failed","sequence_number":6,"response":{"id":"resp_up","status":"failed","error":{"code":"rate_limit_exceeded","message":"slow down"},"output":[]}}


            """
        do {
            _ = try await Self.readAll(failed)
            Issue.record("a failed stream ended cleanly")
        } catch {
            let e = error as? ProviderError
            #expect(e?.status == 429 && e?.message == "slow down")
        }
        let errorEvent = head + "event: error\ndata: {\"type\":\"error\",\"code\":\"server_error\",\"message\":\"boom\",\"sequence_number\":6}\n\n"
        do {
            _ = try await Self.readAll(errorEvent)
            Issue.record("an error event ended cleanly")
        } catch {
            let e = error as? ProviderError
            #expect(e?.kind == .connection && e?.message == "boom")
        }
    }
}

/// Whether `python3` can import the openai SDK, whose models check what Sluice writes.
let pythonHasOpenAISDK: Bool = {
    guard let python = ChildProcess.which("python3"),
        let p = try? ChildProcess(executable: python, arguments: ["-c", "import openai"], environment: ProcessInfo.processInfo.environment)
    else { return false }
    return p.waitUntilExit() == 0
}()

extension ResponsesCodecTests {
    /// Validates with the SDK's own models: whole responses (`Response`), input items
    /// (`ResponseItem`), and streams event by event (`ResponseStreamEvent`) through the SDK's
    /// stream accumulator, whose final `output_text` must be the streamed text.
    static let sdkCheck = """
        import json, sys
        from pydantic import TypeAdapter
        from openai._types import omit
        from openai.types.responses import Response, ResponseItem, ResponseStreamEvent
        from openai.lib.streaming.responses._responses import ResponseStreamState
        doc = json.load(open(sys.argv[1]))
        for r in doc["responses"]:
            Response.model_validate(r)
        items = TypeAdapter(ResponseItem)
        for i in doc["items"]:
            items.validate_python(i)
        events = TypeAdapter(ResponseStreamEvent)
        for s in doc["streams"]:
            state = ResponseStreamState(input_tools=omit, text_format=omit)
            for e in s["events"]:
                state.handle_event(events.validate_python(e))
            if s["text"] is not None:
                assert state._completed_response.output_text == s["text"], state._completed_response.output_text
        print("ok")
        """

    @Test(.enabled(if: pythonHasOpenAISDK, "needs python3 with the openai SDK"))
    func theOpenAISDKReadsWhatSluiceWrites() async throws {
        let r = try request(#"{"model":"m","input":[{"role":"user","content":"a"},{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c","output":"1"}],"text":{"format":{"type":"json_schema","name":"n","schema":{"type":"object"},"strict":true}},"reasoning":{"effort":"low"}}"#)
        var responses: [JSON] = [.object(ResponsesCodec.response(fromChat: Self.completion, id: "resp_1", createdAt: 1, request: r))]
        let refused: JSONObject = ["choices": [["finish_reason": "length", "message": ["role": "assistant", "content": "a", "refusal": "no"]]]]
        responses.append(.object(ResponsesCodec.response(fromChat: refused, id: "resp_2", createdAt: 1, request: r)))
        var failedWriter = ResponsesEventWriter(responseID: "resp_f", createdAt: 1, request: r)
        var failedBytes = failedWriter.frames(for: Self.chunk(["content": "Half"]))
        failedBytes += failedWriter.failed(SluiceError(.upstreamError, "every target failed"))
        var incomplete = ResponsesEventWriter(responseID: "resp_i", createdAt: 1, request: r)
        var incompleteBytes = incomplete.frames(for: Self.chunk(["refusal": "No."]))
        incompleteBytes += incomplete.frames(for: Self.chunk(["content": "Cut"], finish: "length"))
        incompleteBytes += incomplete.finish()
        let streams: [(bytes: [UInt8], text: JSON)] = [
            (try Self.toolStream().0, "Let me check."), (failedBytes, nil), (incompleteBytes, nil),
            (Array(Self.upstreamStream.utf8), "Let me check."),
        ]
        let doc: JSON = [
            "responses": .array(responses), "items": .array(ResponsesCodec.normalizedInput(r, responseID: "resp_1")),
            "streams": .array(try streams.map { s in ["events": .array(try Self.events(s.bytes).map { .object($0.json) }), "text": s.text] }),
        ]
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("responses-sdk-\(UUID().uuidString).json")
        try Data(doc.serialized()).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let out = Pipe()
        let p = try ChildProcess(
            executable: try #require(ChildProcess.which("python3")), arguments: ["-c", Self.sdkCheck, file.path],
            environment: ProcessInfo.processInfo.environment, output: out.fileHandleForWriting.fileDescriptor)
        try out.fileHandleForWriting.close()
        let data = try await Task.detached { try out.fileHandleForReading.readToEnd() ?? Data() }.value
        let status = await p.waitExit()
        let text = String(decoding: data, as: UTF8.self)
        #expect(status == 0 && text.contains("ok"), "the SDK refused Sluice's JSON:\n\(text)")
    }
}
