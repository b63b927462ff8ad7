import Foundation
import SluiceCore
import SluiceProviders

extension ChatService {
    /// Wraps a stream whose first chunk arrived into the relay the edge writes from.
    func openStream(
        _ stream: any ChunkStream, first: StreamChunk?, target: ResolvedTarget, firstStart: ContinuousClock.Instant,
        ticket: BreakerBoard.Ticket?, request: ChatRequest, ctx: CallContext, record: CallRecord, cache plan: CachePlan? = nil,
        input: InputCheck? = nil
    ) -> ChatReply {
        var record = record
        record.provider = target.provider.name
        record.ttftMs = (ContinuousClock.now - ctx.start).milliseconds
        let upstreamMs = (ContinuousClock.now - firstStart).milliseconds
        var meta = ResponseMeta(callID: ctx.callID)
        meta.provider = target.provider.name
        meta.answeredModel = target.model
        meta.attempts = record.attempts.count
        meta.cache = record.cache
        meta.overheadMs = max(0, (ContinuousClock.now - ctx.start).milliseconds - upstreamMs)
        let relay = StreamRelay(
            stream: stream, first: first.map { .chunk($0) } ?? .end, record: record, recorder: recorder,
            start: ctx.start, upstreamStart: firstStart, clientWantsUsage: request.clientWantsUsage,
            targetModel: target.model, messages: request.messages)
        if let ticket {
            // The target's breaker hears how the stream ended: complete, broken by the upstream, or neither (client gone).
            let breakers = runner.breakers
            relay.onEnd = { outcome in
                if let success = outcome { breakers.record(ticket, success: success) } else { breakers.release(ticket) }
            }
        }
        if let redaction = input?.redaction { relay.restorer = PlaceholderRestorer(redaction) }
        // A stream cannot be repaired once sent: its schema is checked at the end and recorded.
        if let schemaJSON = input?.schema, let schema = try? schemas.schema(for: schemaJSON) {
            relay.validate = { text in Self.check(text, against: schema).0.isEmpty }
        }
        let refusals = self.refusals
        relay.isRefusal = { text in refusals.isRefusal(text: text) }
        if let plan, (request.body["n"]?.intValue ?? 1) == 1 {
            let service = self
            relay.onCompletion = { body, record in service.store(plan, body: body, record: record) }
        }
        return .stream(relay, meta: meta)
    }
}

/// Relays one upstream stream to the client as SSE frames, event by event, and
/// writes the call record when the stream ends, however it ends: `[DONE]`, an
/// upstream failure (sent as an error event, never a clean end), or the client
/// going away. The usage chunk is passed on only if the client asked for it.
public final class StreamRelay: @unchecked Sendable {
    // Owned by the one response-writer task that calls `nextFrame()` serially.
    /// What was read before the response head went out.
    enum Prefetched { case chunk(StreamChunk), end, none }

    private let stream: any ChunkStream
    private var prefetched: Prefetched
    private var record: CallRecord
    private let recorder: CallRecorder
    private let start: ContinuousClock.Instant
    private let upstreamStart: ContinuousClock.Instant
    private let clientWantsUsage: Bool
    private let targetModel: String
    private let messages: [JSON]
    private var text = ""
    private var usage: Usage?
    private var finished = false
    private var finishReason: String?
    private var sawToolCalls = false
    /// Called with the answer as a `chat.completion` when a text stream ends cleanly (for the cache).
    var onCompletion: (@Sendable ([UInt8], CallRecord) -> Void)?
    /// Swaps personal-data placeholders back in content deltas.
    var restorer: PlaceholderRestorer?
    /// Checks the whole text against the output schema at the end.
    var validate: (@Sendable (String) -> Bool)?
    /// Decides whether the whole text is a refusal.
    var isRefusal: (@Sendable (String) -> Bool)?
    /// Called once when the stream ends: `true` complete, `false` broken by the upstream, `nil` the client left.
    var onEnd: (@Sendable (Bool?) -> Void)?

    init(
        stream: any ChunkStream, first: Prefetched, record: CallRecord, recorder: CallRecorder,
        start: ContinuousClock.Instant, upstreamStart: ContinuousClock.Instant, clientWantsUsage: Bool,
        targetModel: String, messages: [JSON]
    ) {
        self.stream = stream
        self.prefetched = first
        self.record = record
        self.recorder = recorder
        self.start = start
        self.upstreamStart = upstreamStart
        self.clientWantsUsage = clientWantsUsage
        self.targetModel = targetModel
        self.messages = messages
    }

    /// The call id of this stream.
    public var callID: String { record.callID }
    /// Whether the stream ended with the upstream's clean end (read after the last frame).
    public private(set) var endedCleanly = false

    static let done = Array("data: [DONE]\n\n".utf8)

    /// The next SSE frame to write, or `nil` when the stream is over.
    public func nextFrame() async -> [UInt8]? {
        if finished { return nil }
        while true {
            let chunk: StreamChunk?
            do {
                switch prefetched {
                case .chunk(let c): chunk = c
                case .end: chunk = nil
                case .none: chunk = try await stream.next()
                }
                prefetched = .none
            } catch {
                let err = SluiceError(
                    .upstreamError, "Upstream '\(record.provider ?? "")' stream failed: \(error.message)",
                    details: ["upstream_status": error.status.map(JSON.int) ?? .null])
                // The 200 head is out: the client sees an error event, and the row says so.
                await finish(status: .streamInterrupted, error: err.message, httpStatus: 200)
                var frame = Array("data: ".utf8)
                err.openAIBody.write(to: &frame)
                frame.append(contentsOf: [0x0A, 0x0A])
                return frame
            }
            guard let chunk else {
                await finish(status: .ok, error: nil, httpStatus: 200)
                return Self.done
            }
            if let m = chunk.json["model"]?.stringValue { record.answeredModel = m }
            if let u = chunk.usage { usage = u }
            if let delta = ChatText.chunkDelta(chunk.json) { text += delta }
            if let choice = chunk.json["choices"]?.arrayValue?.first {
                if let f = choice["finish_reason"]?.stringValue { finishReason = f }
                if choice["delta"]?["tool_calls"] != nil { sawToolCalls = true }
            }
            if chunk.isUsageOnly && !clientWantsUsage { continue }
            var raw = chunk.raw
            if restorer != nil, let restored = restore(chunk.json) { raw = restored }
            var frame = Array("data: ".utf8)
            frame.reserveCapacity(raw.count + 8)
            frame.append(contentsOf: raw)
            frame.append(contentsOf: [0x0A, 0x0A])
            return frame
        }
    }

    /// The chunk with placeholders swapped back in its content (held back while one may be cut
    /// in two; released with the finish reason); `nil` when it carries no text.
    private func restore(_ json: JSONObject) -> [UInt8]? {
        guard var choices = json["choices"]?.arrayValue, var choice = choices.first?.objectValue else { return nil }
        var delta = choice["delta"]?.objectValue ?? [:]
        var text = delta["content"]?.stringValue.map { restorer!.feed($0) }
        if choice["finish_reason"].map({ !$0.isNull }) == true { text = (text ?? "") + restorer!.finish() }
        guard let text else { return nil }
        delta["content"] = .string(text)
        choice["delta"] = .object(delta)
        choices[0] = .object(choice)
        var out = json
        out["choices"] = .array(choices)
        return JSON.object(out).serialized()
    }

    /// Records a client that went away before the stream ended.
    public func clientDisconnected() async {
        guard !finished else { return }
        await finish(status: .error, error: "client disconnected before the stream ended", httpStatus: 499)
    }

    private func finish(status: CallRecord.Status, error: String?, httpStatus: Int) async {
        guard !finished else { return }
        finished = true
        endedCleanly = status == .ok
        onEnd?(status == .ok ? true : status == .streamInterrupted ? false : nil)
        record.status = status
        record.error = error
        record.httpStatus = httpStatus
        let total = (ContinuousClock.now - start).milliseconds
        record.latencyMs = total
        record.overheadMs = max(0, total - (ContinuousClock.now - upstreamStart).milliseconds)
        // An upstream that ignored include_usage gets an estimate at ~4 characters a token.
        record.usage = usage ?? Usage.estimate(messages: messages, output: text)
        if record.answeredModel == nil { record.answeredModel = targetModel }
        recorder.price(&record, target: targetModel)
        if status == .ok {
            if let validate { record.schemaValid = validate(text) }
            if let isRefusal { record.refusal = finishReason == "content_filter" || isRefusal(text) }
        }
        if status == .ok, !sawToolCalls, let onCompletion {
            let completion: JSON = [
                "id": .string("chatcmpl-" + record.callID), "object": "chat.completion",
                "created": .int(Int(record.createdAt.timeIntervalSince1970)), "model": .string(record.answeredModel ?? targetModel),
                "choices": [["index": 0, "message": ["role": "assistant", "content": .string(text), "refusal": nil],
                             "logprobs": nil, "finish_reason": .string(finishReason ?? "stop")]],
                "usage": record.usage.openAIJSON,
            ]
            onCompletion(completion.serialized(), record)
        }
        await recorder.finish(record, output: text, finishReasons: finishReason.map { [$0] } ?? [])
    }

    deinit {
        if !finished {
            onEnd?(nil)
            var r = record
            r.status = .error
            r.error = "stream abandoned before it ended"
            r.httpStatus = 499
            let recorder = self.recorder
            Task { await recorder.finish(r, output: nil) }
        }
    }
}
