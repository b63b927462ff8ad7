import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// One connection's fast-lane state: which requests the lane answers itself and
/// which go on to Hummingbird, so that responses leave in the order requests came.
///
/// The lane takes a request only when Hummingbird owes no response on the connection;
/// while the lane answers, later parts (a pipelined request) and read demand are held and
/// replayed once its response is written.
struct FastLaneState {
    enum Mode: Equatable {
        /// Between requests.
        case idle
        /// Forwarding a request to Hummingbird.
        case passing
        /// Reading a request the lane answers.
        case collecting
        /// The lane is answering; inbound parts wait.
        case responding
    }

    /// What to do with an inbound part.
    enum Action {
        /// Hand it to Hummingbird.
        case forward
        /// Nothing now: the lane keeps it.
        case keep
        /// The lane answers this request (its body exceeded `limit` when `tooLarge`).
        case answer(HTTPRequest, ByteBuffer, tooLarge: Bool)
    }

    private(set) var mode = Mode.idle
    /// Requests handed to Hummingbird whose response has not ended.
    private var owedByRouter = 0
    private var head: HTTPRequest?
    private var body = ByteBuffer()
    private var tooLarge = false
    private var held: [HTTPRequestPart] = []
    /// A `read` arrived while the lane was answering.
    var readPending = false
    /// A quiesce event (graceful shutdown) arrived while the lane was busy.
    var quiescePending = false
    /// The client closed its side (half-closure) while the lane was busy; passed on after
    /// the answer, or Hummingbird would close the connection's output under it.
    var inputClosedPending = false
    /// The most body bytes the lane reads (`server.max_body_bytes`).
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Routes one inbound part; `accepts` says whether the lane answers a request head.
    mutating func receive(_ part: HTTPRequestPart, accepts: (HTTPRequest) -> Bool) -> Action {
        switch (mode, part) {
        case (.responding, _):
            held.append(part)
            return .keep
        case (.idle, .head(let h)):
            guard owedByRouter == 0, accepts(h) else {
                owedByRouter += 1
                mode = .passing
                return .forward
            }
            mode = .collecting
            head = h
            body = ByteBuffer()
            tooLarge = (h.headerFields[.contentLength].flatMap(Int.init) ?? 0) > limit
            return .keep
        case (.collecting, .body(var chunk)):
            if tooLarge { return .keep }
            if body.readableBytes + chunk.readableBytes > limit {
                tooLarge = true
                body = ByteBuffer()
            } else if body.readableBytes == 0 {
                body = chunk
            } else {
                body.writeBuffer(&chunk)
            }
            return .keep
        case (.collecting, .end):
            mode = .responding
            let request = head!
            head = nil
            defer { body = ByteBuffer() }
            return .answer(request, body, tooLarge: tooLarge)
        case (.passing, .end):
            mode = .idle
            return .forward
        case (.collecting, .head), (.idle, _), (.passing, _):
            return .forward
        }
    }

    /// Hummingbird finished a response.
    mutating func routerResponded() { owedByRouter = max(0, owedByRouter - 1) }

    /// Whether `read` demand waits (the lane is answering).
    var holdsReads: Bool { mode == .responding }

    /// Whether a graceful shutdown must wait for the lane.
    var busy: Bool { mode == .collecting || mode == .responding }

    /// The lane wrote its response: the held parts to replay, in order, and whether a
    /// read, an input-closed and a quiesce event were held.
    mutating func responded() -> (parts: [HTTPRequestPart], read: Bool, inputClosed: Bool, quiesce: Bool) {
        mode = .idle
        defer {
            held = []
            readPending = false
            inputClosedPending = false
            quiescePending = false
        }
        return (held, readPending, inputClosedPending, quiescePending)
    }
}
