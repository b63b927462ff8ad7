import Foundation
import SluiceCore
import SluiceProviders

/// What a surface writes next for a streamed answer. Surfaces are codecs: chat
/// writes `data:` frames, messages writes Anthropic events, each from these.
public enum RelayEvent: Sendable {
    /// A chunk to pass on (placeholders already restored). `chunk.native` holds the
    /// upstream's own bytes when it spoke the surface's API.
    case chunk(StreamChunk)
    /// The stream failed, or an output guard stopped it, after the response head went
    /// out: the surface sends an error event, never a clean end. Already recorded.
    case failure(SluiceError)
    /// The clean end; `reviewID` when the answer was queued for review.
    case end(reviewID: String?)
}

/// Relays one upstream stream to a surface event by event, applies the output
/// policies a stream can have (guards, review, schema and refusal notes, the
/// cache), and writes the call record when the stream ends, however it ends: the
/// upstream's clean end, an upstream failure, a guard, or the client going away.
/// The usage chunk is passed on only if the client asked for it.
///
/// Under `stream_guard: buffer` the pipeline calls ``hold()`` before answering: the
/// whole stream is read and checked first, then replayed.
public final class StreamRelay: @unchecked Sendable {
    // Owned by the one task that calls `nextEvent()` (or `hold()`) serially.
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
    /// The answer as the upstream sent it (placeholders kept): recorded and cached.
    private var text = ""
    /// The answer as the client sees it (placeholders restored): what guards and review read.
    private var shown = ""
    private var usage: Usage?
    private var finished = false
    private var finishReason: String?
    private var sawToolCalls = false
    /// The streamed tool calls (choice 0), rebuilt from their deltas for the record.
    private var toolCalls = ToolCallAccumulator()
    /// The events of a held stream, replayed after ``hold()`` passed.
    private var replay: [RelayEvent]?
    /// Whether the response head has gone out (false while a stream is held).
    private var headSent = true

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
    /// The purpose's output rules, checked on the whole answer at the end (flags, `require`, and every block).
    var outputRules: [GuardRule] = []
    /// The outside classifiers of the output rules, asked about the whole answer at the end.
    var classify: (@Sendable (String) async -> ClassifierGuards.Outcome)?
    /// Checks blocking rules as chunks pass (`stream_guard: incremental`).
    var incremental: StreamGuard?
    /// Queues the answer for review when the stream ends: `(record, output, flags) -> review id`.
    var review: (@Sendable (CallRecord, String) async -> String?)?
    /// Called after a clean, unblocked end with the final record (shadows).
    private var onCleanEnd: [@Sendable (CallRecord) -> Void] = []
    /// The final record once the stream ended cleanly.
    private var cleanRecord: CallRecord?

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
    /// Whether the stream ended with the upstream's clean end (read after the last event).
    public private(set) var endedCleanly = false
    /// The review item the answer was queued as, once the stream ended (a held stream's is
    /// known before the head goes out).
    public private(set) var reviewID: String?

    /// The next event if it is already received (or replayed), without waiting on the upstream;
    /// `nil` when it is not, or when the stream is over. A surface writes such events in the
    /// same write as the one before, so the chunks of one upstream read leave together.
    public func nextEventIfReady() async -> RelayEvent? {
        if replay != nil { return replay!.isEmpty ? nil : replay!.removeFirst() }
        if finished { return nil }
        return await pull(readyOnly: true)
    }

    /// The next event to write, or `nil` when the stream is over.
    public func nextEvent() async -> RelayEvent? {
        if replay != nil { return replay!.isEmpty ? nil : replay!.removeFirst() }
        if finished { return nil }
        return await pull()!
    }

    /// Reads the whole stream before anything is sent (`stream_guard: buffer`). Returns the
    /// error to answer with instead of the stream (already recorded), or `nil` when the
    /// answer passed and ``nextEvent()`` will replay it.
    func hold() async -> SluiceError? {
        headSent = false
        var events: [RelayEvent] = []
        while true {
            let event = await pull()!
            switch event {
            case .chunk: events.append(event)
            case .failure(let error): return error
            case .end(let id):
                reviewID = id
                events.append(event)
                replay = events
                headSent = true
                return nil
            }
        }
    }

    /// Reads the upstream until there is something to send; with `readyOnly`, `nil` as soon as
    /// that would mean waiting for the upstream (what was read so far is kept).
    private func pull(readyOnly: Bool = false) async -> RelayEvent? {
        while true {
            let chunk: StreamChunk?
            if readyOnly, case .none = prefetched, !stream.hasReadyChunk() { return nil }
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
                await finish(
                    status: headSent ? .streamInterrupted : .error, error: err, httpStatus: headSent ? 200 : err.code.status, upstream: false)
                return .failure(err)
            }
            guard let chunk else { return await end() }
            let (out, delta) = absorb(chunk)
            if incremental != nil, case .block(let rule, let why) = incremental!.feed(delta) {
                let err = StreamGuard.error(rule: rule, why: why)
                await finish(status: .error, error: err, httpStatus: err.code.status, upstream: true)
                return .failure(err)
            }
            if chunk.isUsageOnly && !clientWantsUsage { continue }
            return .chunk(out)
        }
    }

    /// Notes what `chunk` says (model, usage, text, finish reason) and returns it as the
    /// client gets it, with the text it adds for the client.
    private func absorb(_ chunk: StreamChunk) -> (StreamChunk, String) {
        if let m = chunk.json["model"]?.stringValue { record.answeredModel = m }
        if let u = chunk.usage { usage = u }
        let delta = ChatText.chunkDelta(chunk.json) ?? ""
        text += delta
        if let choice = chunk.json["choices"]?.arrayValue?.first {
            if let f = choice["finish_reason"]?.stringValue { finishReason = f }
            if toolCalls.feed(chunk.json) { sawToolCalls = true }
        }
        guard restorer != nil, let restored = restore(chunk.json) else {
            shown += delta
            return (chunk, delta)
        }
        var out = chunk
        out.json = restored.json
        out.raw = restored.raw
        shown += restored.text
        return (out, restored.text)
    }

    /// The chunk with placeholders swapped back in its content (held back while one may be cut
    /// in two; released with the finish reason); `nil` when it carries no text.
    private func restore(_ json: JSONObject) -> (json: JSONObject, raw: [UInt8], text: String)? {
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
        return (out, JSON.object(out).serialized(), text)
    }

    /// The upstream ended cleanly: the whole-answer guard check, review, then the record.
    private func end() async -> RelayEvent {
        if !outputRules.isEmpty {
            do {
                record.guardFlags += try StreamGuard(rules: outputRules).finish(shown)
            } catch {
                await finish(status: .error, error: error, httpStatus: error.code.status, upstream: true)
                return .failure(error)
            }
        }
        if let classify {
            let outcome = await classify(shown)
            record.guardVerdicts += outcome.verdicts
            if let error = outcome.blocked {
                await finish(status: .error, error: error, httpStatus: error.code.status, upstream: true)
                return .failure(error)
            }
            record.guardFlags += outcome.flags
        }
        let id = await review?(record, shown)
        reviewID = id
        await finish(status: .ok, error: nil, httpStatus: 200, upstream: true)
        cleanRecord = record
        for f in onCleanEnd { f(record) }
        onCleanEnd = []
        return .end(reviewID: id)
    }

    /// Calls `f` with the final record once the stream has ended cleanly (at once if it
    /// already has, as a held stream may). Set before the surface reads the stream.
    func whenCleanEnd(_ f: @escaping @Sendable (CallRecord) -> Void) {
        if let cleanRecord { f(cleanRecord) } else { onCleanEnd.append(f) }
    }

    /// Records a client that went away before the stream ended.
    public func clientDisconnected() async {
        guard !finished else { return }
        await finish(
            status: .error, error: SluiceError(.clientClosed, "client disconnected before the stream ended"), httpStatus: 499, upstream: nil)
    }

    /// Records the end once. `upstream` is what the target's breaker hears: it completed
    /// (`true`, a guard's verdict included), it broke (`false`), or neither (`nil`, the client left).
    private func finish(status: CallRecord.Status, error: SluiceError?, httpStatus: Int, upstream: Bool?) async {
        guard !finished else { return }
        finished = true
        endedCleanly = status == .ok
        onEnd?(upstream)
        record.status = status
        record.error = error?.message
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
        record.toolCalls = toolCalls.calls
        await recorder.finish(
            record, output: error?.code == .outputBlocked ? nil : text, finishReasons: finishReason.map { [$0] } ?? [],
            errorCode: error?.code.name)
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
