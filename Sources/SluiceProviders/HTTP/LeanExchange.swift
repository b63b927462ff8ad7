import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// One request and its answer over a ``LeanHTTPClient`` connection: takes a
/// connection (idle or new), writes the request in one flush, collects the answer,
/// keeps the connection for reuse when the answer allows it, and fails on the
/// deadline, a read timeout, cancellation or a closed connection.
///
/// Every method runs on the client's event loop.
final class LeanExchange: @unchecked Sendable {
    let client: LeanHTTPClient
    let call: UpstreamCall
    let target: PlainHTTPTarget
    let deadline: NIODeadline
    let promise: EventLoopPromise<(HTTPResponseHead, ByteBuffer)>

    private var channel: (any Channel)?
    private var handler: LeanHTTPHandler?
    private var head: HTTPResponseHead?
    private var body: ByteBuffer?
    private var done = false
    private var deadlineTimer: Scheduled<Void>?
    private var readTimer: Scheduled<Void>?

    init(client: LeanHTTPClient, call: UpstreamCall, target: PlainHTTPTarget, deadline: NIODeadline) {
        self.client = client
        self.call = call
        self.target = target
        self.deadline = deadline
        self.promise = client.loop.makePromise()
    }

    /// Takes a connection (an idle one, else a new one) and sends the request.
    func start() {
        guard !done else { return }
        if deadlineTimer == nil {
            deadlineTimer = client.loop.scheduleTask(deadline: deadline) { [self] in fail(HTTPClientError.deadlineExceeded) }
        }
        if let (ch, handler) = client.takeIdle(target.key) {
            send(on: ch, handler: handler)
            return
        }
        let handler = LeanHTTPHandler(key: target.key, client: client)
        client.connect(target, handler: handler).whenComplete { [self] result in
            switch result {
            case .success(let ch):
                if done { ch.close(promise: nil) } else { send(on: ch, handler: handler) }
            case .failure(let error):
                if case ChannelError.connectTimeout = error { fail(HTTPClientError.connectTimeout) } else { fail(error) }
            }
        }
    }

    private func send(on ch: any Channel, handler: LeanHTTPHandler) {
        channel = ch
        self.handler = handler
        handler.exchange = self
        var headers = call.headers
        if !headers.contains(name: "host") { headers.add(name: "host", value: target.hostHeader) }
        headers.replaceOrAdd(name: "content-length", value: String(call.body?.readableBytes ?? 0))
        let requestHead = HTTPRequestHead(version: .http1_1, method: call.method, uri: target.target, headers: headers)
        ch.write(HTTPClientRequestPart.head(requestHead), promise: nil)
        if let b = call.body, b.readableBytes > 0 { ch.write(HTTPClientRequestPart.body(.byteBuffer(b)), promise: nil) }
        ch.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        armReadTimer()
    }

    private func armReadTimer() {
        guard let timeout = client.readTimeout else { return }
        readTimer?.cancel()
        readTimer = client.loop.scheduleTask(in: timeout) { [self] in fail(HTTPClientError.readTimeout) }
    }

    /// A part of the answer.
    func receive(_ part: HTTPClientResponsePart) {
        guard !done else { return }
        switch part {
        case .head(let h):
            head = h
            armReadTimer()
        case .body(var b):
            armReadTimer()
            if body == nil {
                body = b
            } else {
                body!.writeBuffer(&b)
            }
            if (body?.readableBytes ?? 0) > LeanHTTPClient.maxBodyBytes { fail(HTTPClientError.bodyLengthMismatch) }
        case .end:
            guard let h = head, let (ch, handler) = detach() else { return fail(HTTPClientError.remoteConnectionClosed) }
            finish()
            if h.isKeepAlive && !call.headers.contains(name: "connection") {
                client.release(ch, handler: handler, key: target.key)
            } else {
                ch.close(promise: nil)
            }
            promise.succeed((h, body ?? ByteBuffer()))
        }
    }

    /// The connection closed under the exchange. Never sent again here: the upstream may
    /// have received the request (and charged for it), so the failure goes to Sluice's
    /// retry policy, which records and prices every attempt.
    func connectionClosed() {
        guard !done else { return }
        _ = detach()
        fail(HTTPClientError.remoteConnectionClosed)
    }

    /// Ends the exchange with `error` and closes its connection.
    func fail(_ error: any Error) {
        guard !done else { return }
        finish()
        detach()?.channel.close(promise: nil)
        promise.fail(error)
    }

    /// Lets go of the connection: its handler stops sending answers here.
    private func detach() -> (channel: any Channel, handler: LeanHTTPHandler)? {
        defer { (channel, handler) = (nil, nil) }
        guard let channel, let handler else { return nil }
        handler.exchange = nil
        return (channel, handler)
    }

    private func finish() {
        done = true
        deadlineTimer?.cancel()
        readTimer?.cancel()
    }
}

/// The last handler of a lean connection: answers go to its current exchange; a
/// close while idle takes the connection out of the pool. Confined to its channel's loop.
final class LeanHTTPHandler: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    let key: String
    weak var client: LeanHTTPClient?
    var exchange: LeanExchange?

    init(key: String, client: LeanHTTPClient) {
        self.key = key
        self.client = client
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        exchange?.receive(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let exchange {
            self.exchange = nil
            exchange.connectionClosed()
        } else {
            client?.forget(context.channel, key: key)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let exchange {
            self.exchange = nil
            exchange.fail(error)
        }
        context.close(promise: nil)
    }
}
