import SluiceCore

/// Builds OpenAI Responses API answers and stream events for ``FakeUpstream``
/// (`POST …/responses`): a `message` item echoing the last user input (or the reply's
/// text), then a `function_call` item per scripted tool call, and usage.
public struct FakeResponsesAnswer {
    let text: String
    let model: String
    let usage: Usage
    let tools: [FakeUpstream.ToolUse]

    init(request: JSONObject, reply: FakeUpstream.Reply) {
        text = reply.text ?? "fake answer to: " + Self.lastUserText(request["input"])
        model = reply.answeredModel ?? request["model"]?.stringValue ?? "fake"
        usage = reply.usage
        tools = reply.toolUses
    }

    /// The text of the last user message of a Responses `input`.
    static func lastUserText(_ input: JSON?) -> String {
        if let s = input?.stringValue { return s }
        let last = (input?.arrayValue ?? []).last { ($0["role"]?.stringValue ?? "") == "user" }
        if let s = last?["content"]?.stringValue { return s }
        return (last?["content"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined()
    }

    var messageItem: JSON {
        [
            "type": "message", "id": "msg_fake1", "status": "completed", "role": "assistant",
            "content": [["type": "output_text", "text": .string(text), "annotations": []]],
        ]
    }

    func callItem(_ i: Int, _ t: FakeUpstream.ToolUse) -> JSON {
        [
            "type": "function_call", "id": .string("fc_fake\(i)"), "call_id": .string(t.id), "name": .string(t.name),
            "arguments": .string(t.input.jsonString), "status": "completed",
        ]
    }

    func object(status: String, output: [JSON], withUsage: Bool) -> JSON {
        [
            "id": "resp_upstream_1", "object": "response", "created_at": 1_700_000_000, "status": .string(status),
            "model": .string(model), "output": .array(output), "error": nil, "incomplete_details": nil, "instructions": nil,
            "metadata": [:], "parallel_tool_calls": true, "temperature": nil, "tool_choice": "auto", "tools": [], "top_p": nil,
            "store": false,
            "usage": withUsage
                ? [
                    "input_tokens": .int(usage.inputTokens), "input_tokens_details": ["cached_tokens": .int(usage.cachedTokens), "cache_write_tokens": .int(usage.cacheWriteTokens)],
                    "output_tokens": .int(usage.outputTokens), "output_tokens_details": ["reasoning_tokens": 0],
                    "total_tokens": .int(usage.inputTokens + usage.outputTokens),
                ] : nil,
        ]
    }

    var output: [JSON] {
        (text.isEmpty && !tools.isEmpty ? [] : [messageItem]) + tools.enumerated().map { callItem($0.offset, $0.element) }
    }

    /// The whole response.
    func whole() -> [UInt8] { object(status: "completed", output: output, withUsage: true).serialized() }

    /// The stream: created, in_progress, the message's text in 5-character deltas, the calls, completed.
    func events() -> [[UInt8]] {
        var seq = 0
        func event(_ type: String, _ body: JSONObject) -> [UInt8] {
            var obj = body
            obj["type"] = .string(type)
            obj["sequence_number"] = .int(seq)
            seq += 1
            var out = Array("event: \(type)\ndata: ".utf8)
            JSON.object(obj).write(to: &out)
            out += [0x0A, 0x0A]
            return out
        }
        var out: [[UInt8]] = []
        let open = object(status: "in_progress", output: [], withUsage: false)
        out.append(event("response.created", ["response": open]))
        out.append(event("response.in_progress", ["response": open]))
        var index = 0
        if !(text.isEmpty && !tools.isEmpty) {
            out.append(event("response.output_item.added", [
                "output_index": 0,
                "item": ["type": "message", "id": "msg_fake1", "status": "in_progress", "role": "assistant", "content": []],
            ]))
            out.append(event("response.content_part.added", [
                "item_id": "msg_fake1", "output_index": 0, "content_index": 0,
                "part": ["type": "output_text", "text": "", "annotations": []],
            ]))
            var rest = Substring(text)
            while !rest.isEmpty {
                out.append(event("response.output_text.delta", [
                    "item_id": "msg_fake1", "output_index": 0, "content_index": 0, "delta": .string(String(rest.prefix(5))), "logprobs": [],
                ]))
                rest = rest.dropFirst(5)
            }
            out.append(event("response.output_text.done", [
                "item_id": "msg_fake1", "output_index": 0, "content_index": 0, "text": .string(text), "logprobs": [],
            ]))
            out.append(event("response.content_part.done", [
                "item_id": "msg_fake1", "output_index": 0, "content_index": 0,
                "part": ["type": "output_text", "text": .string(text), "annotations": []],
            ]))
            out.append(event("response.output_item.done", ["output_index": 0, "item": messageItem]))
            index = 1
        }
        for (i, t) in tools.enumerated() {
            let item = callItem(i, t)
            var added = item.objectValue ?? [:]
            added["arguments"] = ""
            added["status"] = "in_progress"
            out.append(event("response.output_item.added", ["output_index": .int(index + i), "item": .object(added)]))
            out.append(event("response.function_call_arguments.delta", [
                "item_id": .string("fc_fake\(i)"), "output_index": .int(index + i), "delta": .string(t.input.jsonString),
            ]))
            out.append(event("response.function_call_arguments.done", [
                "item_id": .string("fc_fake\(i)"), "output_index": .int(index + i), "arguments": .string(t.input.jsonString),
            ]))
            out.append(event("response.output_item.done", ["output_index": .int(index + i), "item": item]))
        }
        out.append(event("response.completed", ["response": object(status: "completed", output: output, withUsage: true)]))
        return out
    }
}
