import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTPTypes

/// Sits between the HTTP codec and Hummingbird's connection handling and answers the
/// ``FastLane`` route itself (see ``FastLaneState`` for how it keeps responses in order).
final class FastLaneHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let lane: FastLane
    private var state: FastLaneState
    private var context: ChannelHandlerContext?
    private var isLoopback = false

    init(lane: FastLane) {
        self.lane = lane
        state = FastLaneState(limit: lane.maxBodyBytes)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        isLoopback = HTTPEdge.isLoopback(context.channel.remoteAddress)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        receive(unwrapInboundIn(data), context: context)
    }

    private func receive(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch state.receive(part, accepts: lane.accepts) {
        case .forward: context.fireChannelRead(wrapInboundOut(part))
        case .keep: break
        case .answer(let head, let body, let tooLarge): answer(head, body: body, tooLarge: tooLarge, context: context)
        }
    }

    /// Answers one request in a task of its own; the response is written from this loop.
    private func answer(_ head: HTTPRequest, body: ByteBuffer, tooLarge: Bool, context: ChannelHandlerContext) {
        let loop = context.eventLoop
        let handler = NIOLoopBound(self, eventLoop: loop)
        let lane = self.lane
        let isLoopback = self.isLoopback
        let close = head.headerFields[.connection] == "close"
        Task {
            let response = await lane.answer(head, body: body, tooLarge: tooLarge, isLoopback: isLoopback, eventLoop: loop)
            await FastLaneWriter.send(response, through: handler, loop: loop, close: close)
        }
    }

    /// Writes one response part from the lane (below this handler, so Hummingbird never sees it).
    func emit(_ part: HTTPResponsePart, flush: Bool, awaitWrite: Bool) -> EventLoopFuture<Void>? {
        guard let context else { return nil }
        let promise = awaitWrite ? context.eventLoop.makePromise(of: Void.self) : nil
        context.write(wrapOutboundOut(part), promise: promise)
        if flush { context.flush() }
        return promise?.futureResult
    }

    /// The lane's response is written: close when the client asked to, else replay what waited.
    func responded(close: Bool) {
        guard let context else { return }
        if close {
            context.close(promise: nil)
            return
        }
        let resume = state.responded()
        for part in resume.parts { receive(part, context: context) }
        if !resume.parts.isEmpty { context.fireChannelReadComplete() }
        if resume.inputClosed {
            if state.busy { state.inputClosedPending = true } else { context.fireUserInboundEventTriggered(ChannelEvent.inputClosed) }
        }
        if resume.quiesce {
            if state.busy { state.quiescePending = true } else { context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
        }
        if resume.read {
            if state.holdsReads { state.readPending = true } else { context.read() }
        }
    }

    /// The lane could not write its response (the client went away).
    func abort() {
        context?.close(promise: nil)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { state.routerResponded() }
        context.write(data, promise: promise)
    }

    func read(context: ChannelHandlerContext) {
        if state.holdsReads { state.readPending = true } else { context.read() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if state.busy {
            if event is ChannelShouldQuiesceEvent {
                state.quiescePending = true
                return
            }
            if let e = event as? ChannelEvent, e == .inputClosed {
                state.inputClosedPending = true
                return
            }
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// Writes a ``Response`` through a ``FastLaneHandler`` from any task: on the handler's
/// loop directly, from elsewhere by a hop. A body of known length is flushed once at its
/// end; a stream is flushed and awaited chunk by chunk (back-pressure).
struct FastLaneWriter: ResponseBodyWriter {
    let handler: NIOLoopBound<FastLaneHandler>
    let loop: any EventLoop
    let streaming: Bool

    static func send(_ response: Response, through handler: NIOLoopBound<FastLaneHandler>, loop: any EventLoop, close: Bool) async {
        var dated = response.head
        dated.headerFields[.date] = HTTPDate.now()
        let head = dated
        let streaming = response.body.contentLength == nil
        let writer = FastLaneWriter(handler: handler, loop: loop, streaming: streaming)
        do {
            try await writer.perform { $0.emit(.head(head), flush: streaming, awaitWrite: false) }
            try await response.body.write(writer)
            try await writer.perform { $0.responded(close: close); return nil }
        } catch {
            try? await writer.perform { $0.abort(); return nil }
        }
    }

    /// Runs `operation` with the handler on its loop and waits for the future it returns.
    func perform(_ operation: @escaping @Sendable (FastLaneHandler) -> EventLoopFuture<Void>?) async throws {
        if loop.inEventLoop {
            if let done = operation(handler.value) { try await done.get() }
        } else {
            let handler = self.handler
            let loop = self.loop
            try await loop.flatSubmit { operation(handler.value) ?? loop.makeSucceededVoidFuture() }.get()
        }
    }

    mutating func write(_ buffer: ByteBuffer) async throws {
        let streaming = self.streaming
        try await perform { $0.emit(.body(buffer), flush: streaming, awaitWrite: streaming) }
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        try await perform { $0.emit(.end(trailingHeaders), flush: true, awaitWrite: false) }
    }
}
