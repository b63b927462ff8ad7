import Foundation
import SluiceCore
import SluiceProviders

/// A streamed response: the relay's events as Responses SSE events. A Responses-API
/// upstream's own events pass through (with Sluice's response id); any other
/// upstream's chat chunks are written as Responses events. A stream that breaks, or
/// that an output guard stops, ends with `response.failed`, never a clean end. The
/// finished response is stored when the stream ends.
public final class ResponsesStream: @unchecked Sendable {
    // Owned by the one task that calls `nextFrame()` serially.
    enum Source {
        case relay(StreamRelay)
        /// A whole chat SSE body (a cached or degraded answer), replayed.
        case chatEvents([UInt8])
    }

    private let turn: Turn
    private let source: Source
    private let service: ResponsesService
    private let callID: String?
    private var writer: ResponsesEventWriter
    private var done = false
    /// The upstream's final response when it streamed natively.
    private var nativeFinal: JSONObject?
    private var replay: [JSONObject]?

    init(turn: Turn, source: Source, service: ResponsesService, callID: String?) {
        self.turn = turn
        self.source = source
        self.service = service
        self.callID = callID
        writer = ResponsesEventWriter(responseID: turn.id, createdAt: Int(turn.createdAt.timeIntervalSince1970), request: turn.request)
    }

    /// The response id.
    public var responseID: String { turn.id }

    /// Whether the stream ended with `response.completed` (or `incomplete`).
    public private(set) var endedCleanly = false
    /// The review item the answer was queued as, once the stream ended.
    public private(set) var reviewID: String?

    /// The next SSE bytes if they are already received, without waiting on the upstream; `nil`
    /// when they are not, or when the stream is over.
    public func nextFrameIfReady() async -> [UInt8]? {
        guard !done, case .relay = source else { return nil }
        return await nextFrame(readyOnly: true)
    }

    /// The next SSE bytes to write, or `nil` when the stream is over.
    public func nextFrame() async -> [UInt8]? { await nextFrame(readyOnly: false) }

    private func nextFrame(readyOnly: Bool) async -> [UInt8]? {
        guard !done else { return nil }
        switch source {
        case .relay(let relay):
            while true {
                guard let event = readyOnly ? await relay.nextEventIfReady() : await relay.nextEvent() else {
                    if !readyOnly { done = true }
                    return nil
                }
                if let bytes = await frame(for: event), !bytes.isEmpty { return bytes }
                if done { return nil }
            }
        case .chatEvents(let body):
            if replay == nil {
                replay = Self.dataPayloads(body).compactMap { (try? JSON.parse($0))?.objectValue }
            }
            var out = writer.start()
            for chunk in replay! { out += writer.frames(for: chunk) }
            out += writer.finish()
            done = true
            endedCleanly = true
            if let final = writer.final { await service.save(turn, response: final, callID: callID) }
            return out
        }
    }

    /// Tells the relay the client went away.
    public func clientDisconnected() async {
        if case .relay(let relay) = source { await relay.clientDisconnected() }
    }

    private func frame(for event: RelayEvent) async -> [UInt8]? {
        switch event {
        case .chunk(let chunk):
            if let native = chunk.native { return own(native) }
            return writer.frames(for: chunk.json)
        case .failure(let error):
            done = true
            let out = writer.failed(error)
            if let final = writer.final { await service.save(turn, response: final, callID: callID) }
            return out
        case .end(let review):
            done = true
            endedCleanly = true
            reviewID = review
            // Headers are gone: a review id comes as an SSE comment (clients skip it) and a trailer.
            let comment = review.map { Array(": x-sluice-review-id \($0)\n\n".utf8) } ?? []
            if let nativeFinal {
                await service.save(turn, response: nativeFinal, callID: callID)
                return comment
            }
            let out = comment + writer.finish()
            if let final = writer.final { await service.save(turn, response: final, callID: callID) }
            return out
        }
    }

    /// A native event with Sluice's response id in its `response` object (and the final one kept).
    private func own(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var decoder = SSEDecoder()
        decoder.feed(bytes)
        var events: [SSEDecoder.Event] = []
        while let e = decoder.next() { events.append(e) }
        if let e = decoder.finish() { events.append(e) }
        for e in events {
            guard var obj = (try? JSON.parse(e.data))?.objectValue else {
                out += bytes
                continue
            }
            // A failure after native events continues their numbering (no second `response.created`).
            if let n = obj["sequence_number"]?.intValue { writer.continueAfter(sequenceNumber: n) }
            if let response = obj["response"]?.objectValue {
                let mine = turn.own(response)
                obj["response"] = .object(mine)
                let type = obj["type"]?.stringValue ?? ""
                if type == "response.completed" || type == "response.incomplete" || type == "response.failed" { nativeFinal = mine }
            }
            out += Array("event: \(obj["type"]?.stringValue ?? e.event ?? "message")\ndata: ".utf8)
            JSON.object(obj).write(to: &out)
            out += [0x0A, 0x0A]
        }
        return out
    }

    static func dataPayloads(_ bytes: [UInt8]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var decoder = SSEDecoder()
        decoder.feed(bytes)
        while let e = decoder.next() { out.append(Array(e.data)) }
        if let e = decoder.finish() { out.append(Array(e.data)) }
        return out.filter { !$0.elementsEqual("[DONE]".utf8) }
    }
}
