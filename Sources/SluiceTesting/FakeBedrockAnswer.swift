import HTTPTypes
import Hummingbird
import NIOCore
import SluiceCore

/// AWS event-stream frames (`application/vnd.amazon.eventstream`), built with correct CRCs,
/// for fakes and tests of Bedrock's ConverseStream.
///
/// ```swift
/// let frame = EventStreamFrame.event("contentBlockDelta", ["contentBlockIndex": 0, "delta": ["text": "Hi"]])
/// let bad = EventStreamFrame.corrupted(frame)   // same bytes, wrong message CRC
/// ```
public enum EventStreamFrame {
    /// A frame with string headers (type 7) and `payload`.
    public static func encode(headers: [(String, String)], payload: [UInt8]) -> [UInt8] {
        var block: [UInt8] = []
        for (name, value) in headers {
            block.append(UInt8(name.utf8.count))
            block += Array(name.utf8)
            block.append(7)
            let v = Array(value.utf8)
            block += [UInt8(v.count >> 8), UInt8(v.count & 0xFF)]
            block += v
        }
        let total = 12 + block.count + payload.count + 4
        var out = be32(UInt32(total)) + be32(UInt32(block.count))
        out += be32(CRC32.checksum(out))
        out += block + payload
        out += be32(CRC32.checksum(out))
        return out
    }

    /// An `event` frame of `type` with a JSON payload.
    public static func event(_ type: String, _ payload: JSON) -> [UInt8] {
        encode(
            headers: [(":event-type", type), (":content-type", "application/json"), (":message-type", "event")],
            payload: payload.serialized())
    }

    /// An `exception` frame (`throttlingException`, `validationException`…) with `{"message": …}`.
    public static func exception(_ type: String, message: String) -> [UInt8] {
        encode(
            headers: [(":exception-type", type), (":content-type", "application/json"), (":message-type", "exception")],
            payload: JSON.object(["message": .string(message)]).serialized())
    }

    /// `frame` with its last byte (the message CRC) flipped.
    public static func corrupted(_ frame: [UInt8]) -> [UInt8] {
        var out = frame
        out[out.count - 1] ^= 0xFF
        return out
    }

    /// `v` as 4 big-endian bytes.
    public static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
}

/// Builds Bedrock Converse answers and ConverseStream frames for ``FakeUpstream`` (paths ending in
/// `/converse` and `/converse-stream`). A request forcing Sluice's `json_output` tool is answered
/// with that tool's input (the reply text as JSON).
public struct FakeBedrockAnswer {
    let text: String
    let usage: Usage
    let tools: [FakeUpstream.ToolUse]

    init(request: JSONObject, reply: FakeUpstream.Reply) {
        let messages = request["messages"]?.arrayValue ?? []
        let lastUser = messages.last { $0["role"]?.stringValue == "user" }
        let blocks = lastUser?["content"]?.arrayValue ?? []
        let said = blocks.compactMap { $0["text"]?.stringValue }.joined()
        let result = blocks.compactMap { $0["toolResult"]?["content"]?.arrayValue?.first }.last
        var text = reply.text ?? "fake answer to: " + said
        var tools = reply.toolUses
        if reply.toolsOnce, let result {
            tools = []
            text = "The tool said: " + (result["text"]?.stringValue ?? result["json"]?.jsonString ?? "")
        }
        let forced = request["toolConfig"]?["toolChoice"]?["tool"]?["name"]?.stringValue
        if forced == "json_output" {
            tools = [FakeUpstream.ToolUse(id: "tooluse_json", name: "json_output", input: (try? JSON.parse(text)) ?? [:])]
            text = ""
        }
        self.text = text
        self.usage = reply.usage
        self.tools = tools
    }

    /// The ConverseStream frames the fake sends for a Converse `request` and `reply`.
    public static func frames(for request: JSONObject, reply: FakeUpstream.Reply) -> [[UInt8]] {
        FakeBedrockAnswer(request: request, reply: reply).frames()
    }

    var usageJSON: JSON {
        let fresh = usage.inputTokens - usage.cachedTokens - usage.cacheWriteTokens
        return [
            "inputTokens": .int(fresh), "outputTokens": .int(usage.outputTokens), "totalTokens": .int(usage.inputTokens + usage.outputTokens),
            "cacheReadInputTokens": .int(usage.cachedTokens), "cacheWriteInputTokens": .int(usage.cacheWriteTokens),
        ]
    }

    var stopReason: String { tools.isEmpty ? "end_turn" : "tool_use" }

    /// The Converse answer.
    public func whole() -> [UInt8] {
        var content: [JSON] = text.isEmpty ? [] : [["text": .string(text)]]
        for t in tools { content.append(["toolUse": ["toolUseId": .string(t.id), "name": .string(t.name), "input": t.input]]) }
        let body: JSON = [
            "output": ["message": ["role": "assistant", "content": .array(content)]], "stopReason": .string(stopReason),
            "usage": usageJSON, "metrics": ["latencyMs": 12],
        ]
        return body.serialized()
    }

    /// The ConverseStream frames: text in 6-character deltas, then each tool's input JSON in two fragments.
    public func frames() -> [[UInt8]] {
        var out: [[UInt8]] = [EventStreamFrame.event("messageStart", ["role": "assistant"])]
        var index = 0
        if !text.isEmpty {
            var rest = Substring(text)
            while !rest.isEmpty {
                let piece = rest.prefix(6)
                rest = rest.dropFirst(6)
                out.append(EventStreamFrame.event("contentBlockDelta", ["contentBlockIndex": .int(index), "delta": ["text": .string(String(piece))], "p": "abcd"]))
            }
            out.append(EventStreamFrame.event("contentBlockStop", ["contentBlockIndex": .int(index)]))
            index += 1
        }
        for t in tools {
            out.append(EventStreamFrame.event(
                "contentBlockStart", ["contentBlockIndex": .int(index), "start": ["toolUse": ["toolUseId": .string(t.id), "name": .string(t.name)]]]))
            let input = Array(t.input.jsonString)
            let half = input.count / 2
            for part in [String(input[..<half]), String(input[half...])] where !part.isEmpty {
                out.append(EventStreamFrame.event("contentBlockDelta", ["contentBlockIndex": .int(index), "delta": ["toolUse": ["input": .string(part)]]]))
            }
            out.append(EventStreamFrame.event("contentBlockStop", ["contentBlockIndex": .int(index)]))
            index += 1
        }
        out.append(EventStreamFrame.event("messageStop", ["stopReason": .string(stopReason)]))
        out.append(EventStreamFrame.event("metadata", ["usage": usageJSON, "metrics": ["latencyMs": 12]]))
        return out
    }

    /// The HTTP answer for `reply`: whole JSON, or the frames (honouring `cutAfterEvents` and `eventDelayMs`).
    func response(stream: Bool, reply: FakeUpstream.Reply, headers: HTTPFields) -> Response {
        var fields = headers
        fields[HTTPField.Name("x-amzn-RequestId")!] = "fake-request-1"
        guard stream else {
            fields[.contentType] = "application/json"
            return Response(status: .init(code: reply.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: whole())))
        }
        fields[.contentType] = "application/vnd.amazon.eventstream"
        let frames = frames()
        return Response(status: .init(code: reply.status), headers: fields, body: ResponseBody { writer in
            for (i, frame) in frames.enumerated() {
                if let cut = reply.cutAfterEvents, i >= cut {
                    if i > 0 { try? await Task.sleep(for: .milliseconds(50)) }
                    throw CancellationError()
                }
                if reply.eventDelayMs > 0, i > 0 { try await Task.sleep(for: .milliseconds(reply.eventDelayMs)) }
                try await writer.write(ByteBuffer(bytes: frame))
            }
            try await writer.finish(nil)
        })
    }
}
