import SluiceCore

/// Turns OpenAI `chat.completion.chunk`s into the Responses API's stream events for
/// `/v1/responses` clients, as SSE bytes (`event: TYPE\ndata: JSON\n\n`), each event with
/// its `sequence_number`: `response.created` and `response.in_progress`, then per output
/// item `response.output_item.added`, its content (`response.content_part.added`,
/// `response.output_text.delta`/`.done`, `response.refusal.delta`/`.done`,
/// `response.content_part.done`; or `response.function_call_arguments.delta`/`.done`) and
/// `response.output_item.done`, and last `response.completed` (or `response.incomplete`)
/// with the whole response, or `response.failed`. A value type with no I/O.
public struct ResponsesEventWriter: Sendable {
    /// One output item being written.
    struct Item: Sendable {
        enum Kind: Sendable, Equatable { case message, function(Int) }
        enum Part: Sendable, Equatable { case text, refusal }
        var kind: Kind
        var id: String
        var text = ""
        var refusal = ""
        var parts: [Part] = []
        var call = ResponsesCodec.Call(callID: "", name: "", arguments: "")
        var status = "in_progress"
        var done: Bool { status != "in_progress" }

        init(kind: Kind, id: String) {
            self.kind = kind
            self.id = id
        }

        /// The item as the API shows it.
        var json: JSON {
            switch kind {
            case .message:
                let content: [JSON] = parts.map {
                    $0 == .text ? ResponsesCodec.outputTextPart(text) : ["type": "refusal", "refusal": .string(refusal)]
                }
                return ["id": .string(id), "type": "message", "status": .string(status), "role": "assistant", "content": .array(content)]
            case .function:
                return ResponsesCodec.functionCallItem(id: id, call, status: status)
            }
        }
    }

    /// The response id (`resp_…`).
    public let responseID: String
    let createdAt: Int
    let request: ResponsesRequest
    var model: String
    var sequence = 0
    var started = false
    var items: [Item] = []
    var open: Int?
    var toolItems: [Int: Int] = [:]
    var messages = 0
    var finish: String?
    var usage: Usage?
    var reasoningTokens = 0
    /// The whole response once the stream ended (`completed`, `incomplete` or `failed`), for the store.
    public private(set) var final: JSONObject?

    /// A writer for response `responseID` answering `request`, before the first chunk.
    public init(responseID: String, createdAt: Int, request: ResponsesRequest) {
        self.responseID = responseID
        self.createdAt = createdAt
        self.request = request
        self.model = request.model
    }

    /// `response.created` and `response.in_progress`, once (the first ``frames(for:)`` writes them when this was not called).
    public mutating func start() -> [UInt8] {
        guard !started else { return [] }
        started = true
        let response = JSON.object(snapshot(status: "in_progress", usage: .null))
        var out = event("response.created", ["response": response])
        out += event("response.in_progress", ["response": response])
        return out
    }

    /// Marks the stream as begun elsewhere: a native upstream's events went to the client,
    /// the last numbered `sequenceNumber`. ``start()`` then writes nothing and later events
    /// (a ``failed(_:)`` after the upstream broke) continue the numbering.
    public mutating func continueAfter(sequenceNumber: Int) {
        started = true
        sequence = max(sequence, sequenceNumber + 1)
    }

    /// The events for one chat chunk (possibly none).
    public mutating func frames(for chunk: JSONObject) -> [UInt8] {
        var out = start()
        if let m = chunk["model"]?.stringValue, !m.isEmpty { model = m }
        if let u = chunk["usage"], !u.isNull {
            usage = Usage(openAI: u)
            reasoningTokens = u["completion_tokens_details"]?["reasoning_tokens"]?.intValue ?? reasoningTokens
        }
        guard let choice = chunk["choices"]?.arrayValue?.first else { return out }
        let delta = choice["delta"]
        if let text = delta?["content"]?.stringValue, !text.isEmpty { out += textDelta(text, part: .text) }
        if let refusal = delta?["refusal"]?.stringValue, !refusal.isEmpty { out += textDelta(refusal, part: .refusal) }
        for call in delta?["tool_calls"]?.arrayValue ?? [] { out += toolCallDelta(call) }
        if let reason = choice["finish_reason"]?.stringValue { finish = reason }
        return out
    }

    /// The closing events once the chat stream ended cleanly: the open item's `done`
    /// events, then `response.completed`, or `response.incomplete` when the answer stopped
    /// at its token limit or a content filter. `usage`, when given, replaces what the
    /// chunks reported (an estimate for an upstream that reported none).
    public mutating func finish(usage given: Usage? = nil) -> [UInt8] {
        var out = start()
        if items.isEmpty {
            out += openMessage()
            out += openPart(.text)
        }
        let incomplete = ResponsesCodec.incompleteReason(finish)
        out += close(status: incomplete == nil ? "completed" : "incomplete")
        let counted = given ?? usage
        let status = incomplete == nil ? "completed" : "incomplete"
        var response = snapshot(status: status, usage: counted.map { ResponsesCodec.usageJSON($0, reasoningTokens: reasoningTokens) } ?? .null)
        response["incomplete_details"] = incomplete.map { ["reason": .string($0)] } ?? .null
        final = response
        out += event(incomplete == nil ? "response.completed" : "response.incomplete", ["response": .object(response)])
        return out
    }

    /// A `response.failed` event for `error` (status `failed`, `error` {code, message}):
    /// the stream broke, or a guard stopped it, after it began; it never looks complete.
    /// Items not finished are `incomplete` in its output.
    public mutating func failed(_ error: SluiceError) -> [UInt8] {
        var out = start()
        for i in items.indices where !items[i].done { items[i].status = "incomplete" }
        open = nil
        var response = snapshot(status: "failed", usage: usage.map { ResponsesCodec.usageJSON($0, reasoningTokens: reasoningTokens) } ?? .null)
        response["error"] = ResponsesCodec.errorObject(error)
        final = response
        out += event("response.failed", ["response": .object(response)])
        return out
    }

    // MARK: Items

    mutating func textDelta(_ text: String, part: Item.Part) -> [UInt8] {
        var out: [UInt8] = []
        if open.map({ items[$0].kind != .message }) ?? true { out += openMessage() }
        guard let index = open else { return out }
        if !items[index].parts.contains(part) { out += openPart(part) }
        let contentIndex = items[index].parts.firstIndex(of: part) ?? 0
        var fields = location(index)
        fields["content_index"] = .int(contentIndex)
        fields["delta"] = .string(text)
        if part == .text {
            items[index].text += text
            fields["logprobs"] = []
            out += event("response.output_text.delta", fields)
        } else {
            items[index].refusal += text
            out += event("response.refusal.delta", fields)
        }
        return out
    }

    mutating func toolCallDelta(_ call: JSON) -> [UInt8] {
        let n = call["index"]?.intValue ?? 0
        var out: [UInt8] = []
        let index: Int
        if let known = toolItems[n] {
            index = known
        } else {
            out += close(status: "completed")
            var item = Item(kind: .function(n), id: ResponsesCodec.callItemID(responseID, n))
            item.call.callID = call["id"]?.stringValue ?? "call_\(ResponsesCodec.idTail(responseID))_\(n)"
            item.call.name = call["function"]?["name"]?.stringValue ?? ""
            items.append(item)
            index = items.count - 1
            toolItems[n] = index
            open = index
            out += event("response.output_item.added", ["output_index": .int(index), "item": item.json])
        }
        if items[index].call.name.isEmpty, let name = call["function"]?["name"]?.stringValue { items[index].call.name = name }
        if let args = call["function"]?["arguments"]?.stringValue, !args.isEmpty {
            items[index].call.arguments += args
            if !items[index].done {
                var fields = location(index)
                fields["delta"] = .string(args)
                out += event("response.function_call_arguments.delta", fields)
            }
        }
        return out
    }

    mutating func openMessage() -> [UInt8] {
        var out = close(status: "completed")
        items.append(Item(kind: .message, id: ResponsesCodec.messageID(responseID, messages)))
        messages += 1
        open = items.count - 1
        out += event("response.output_item.added", ["output_index": .int(items.count - 1), "item": items[items.count - 1].json])
        return out
    }

    mutating func openPart(_ part: Item.Part) -> [UInt8] {
        guard let index = open else { return [] }
        items[index].parts.append(part)
        var fields = location(index)
        fields["content_index"] = .int(items[index].parts.count - 1)
        fields["part"] = part == .text ? ResponsesCodec.outputTextPart("") : ["type": "refusal", "refusal": ""]
        return event("response.content_part.added", fields)
    }

    /// The `done` events of the open item, which then has `status`.
    mutating func close(status: String) -> [UInt8] {
        guard let index = open else { return [] }
        open = nil
        var out: [UInt8] = []
        items[index].status = status
        let item = items[index]
        switch item.kind {
        case .message:
            for (contentIndex, part) in item.parts.enumerated() {
                var fields = location(index)
                fields["content_index"] = .int(contentIndex)
                if part == .text {
                    fields["text"] = .string(item.text)
                    fields["logprobs"] = []
                    out += event("response.output_text.done", fields)
                } else {
                    fields["refusal"] = .string(item.refusal)
                    out += event("response.refusal.done", fields)
                }
                var partFields = location(index)
                partFields["content_index"] = .int(contentIndex)
                partFields["part"] = item.json["content"]?.arrayValue?[contentIndex]
                out += event("response.content_part.done", partFields)
            }
        case .function:
            var fields = location(index)
            fields["arguments"] = .string(item.call.arguments)
            fields["name"] = .string(item.call.name)
            out += event("response.function_call_arguments.done", fields)
        }
        out += event("response.output_item.done", ["output_index": .int(index), "item": item.json])
        return out
    }

    // MARK: Framing

    func location(_ index: Int) -> JSONObject { ["item_id": .string(items[index].id), "output_index": .int(index)] }

    func snapshot(status: String, usage: JSON) -> JSONObject {
        ResponsesCodec.responseObject(
            id: responseID, createdAt: createdAt, model: model, request: request, status: status, output: items.map(\.json),
            usage: usage)
    }

    /// One SSE event: `type` and `sequence_number` first, then `fields`.
    mutating func event(_ type: String, _ fields: JSONObject) -> [UInt8] {
        var body: JSONObject = ["type": .string(type), "sequence_number": .int(sequence)]
        body.merge(fields)
        sequence += 1
        var out = Array("event: \(type)\ndata: ".utf8)
        JSON.object(body).write(to: &out)
        out.append(contentsOf: [0x0A, 0x0A])
        return out
    }
}
