import Foundation
import SluiceCore
import SluiceProviders

extension ChatService {
    /// Wraps a stream whose first chunk arrived into the relay the edge writes from.
    func openStream(
        _ stream: any ChunkStream, first: StreamChunk?, target: ResolvedTarget, firstStart: ContinuousClock.Instant,
        ticket: BreakerBoard.Ticket?, request: ChatRequest, ctx: CallContext, record: CallRecord, cache plan: CachePlan? = nil
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
            var frame = Array("data: ".utf8)
            frame.reserveCapacity(chunk.raw.count + 8)
            frame.append(contentsOf: chunk.raw)
            frame.append(contentsOf: [0x0A, 0x0A])
            return frame
        }
    }

    /// Records a client that went away before the stream ended.
    public func clientDisconnected() async {
        guard !finished else { return }
        await finish(status: .error, error: "client disconnected before the stream ended", httpStatus: 499)
    }

    private func finish(status: CallRecord.Status, error: String?, httpStatus: Int) async {
        guard !finished else { return }
        finished = true
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
        await recorder.finish(record, output: text)
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
