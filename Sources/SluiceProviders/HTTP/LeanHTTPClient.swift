import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP/1.1 client for plain-`http://` upstreams whose whole answer is read
/// at once (every non-streamed call). It keeps one event loop's keep-alive connections
/// per host, writes a request's head and body in one flush (one segment, no
/// head-then-body round of wake-ups at the upstream), and hands the answer back as
/// one buffer, without AsyncHTTPClient's request state machines and body streams.
///
/// Its failures are AsyncHTTPClient's errors (`connectTimeout`, `readTimeout`,
/// `deadlineExceeded`, `remoteConnectionClosed`), so they map to the same provider
/// errors. An idle connection the upstream closes leaves the pool when the close
/// arrives; a request is never re-sent here (Sluice's retry policy decides, and
/// records every attempt).
///
/// All mutable state is confined to `loop`.
final class LeanHTTPClient: @unchecked Sendable {
    let loop: any EventLoop
    let connectTimeout: TimeAmount
    let readTimeout: TimeAmount?
    /// An idle connection older than this is closed instead of reused.
    let idleTimeout: TimeAmount
    /// Idle connections kept per host; more are closed.
    let maxIdlePerHost: Int
    /// The largest answer read; a larger one fails the call.
    static let maxBodyBytes = 64 << 20

    private struct Idle {
        var channel: any Channel
        var handler: LeanHTTPHandler
        var since: NIODeadline
    }
    private var idle: [String: [Idle]] = [:]
    private var closed = false
    private var sweep: RepeatedTask?

    init(loop: any EventLoop, connectTimeout: TimeAmount, readTimeout: TimeAmount?, idleTimeout: TimeAmount = .seconds(60), maxIdlePerHost: Int = 512) {
        self.loop = loop
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.idleTimeout = idleTimeout
        self.maxIdlePerHost = maxIdlePerHost
    }

    /// Sends `call` to `target` and reads the whole answer, by `deadline`.
    func execute(_ call: UpstreamCall, to target: PlainHTTPTarget, deadline: NIODeadline) async throws -> HTTPClientResponse {
        let exchange = LeanExchange(client: self, call: call, target: target, deadline: deadline)
        return try await withTaskCancellationHandler {
            if loop.inEventLoop {
                exchange.start()
            } else {
                loop.execute { exchange.start() }
            }
            let (head, body) = try await exchange.promise.futureResult.get()
            return HTTPClientResponse(version: head.version, status: head.status, headers: head.headers, body: .bytes(body))
        } onCancel: {
            loop.execute { exchange.fail(CancellationError()) }
        }
    }

    /// A reusable connection to `key` and its handler (closing stale ones), or `nil`.
    func takeIdle(_ key: String) -> (any Channel, LeanHTTPHandler)? {
        loop.preconditionInEventLoop()
        let now = NIODeadline.now()
        while var list = idle[key], let last = list.popLast() {
            idle[key] = list
            if last.channel.isActive, now - last.since < idleTimeout { return (last.channel, last.handler) }
            last.channel.close(promise: nil)
        }
        return nil
    }

    /// Keeps a connection whose exchange ended cleanly for the next request to `key`.
    func release(_ channel: any Channel, handler: LeanHTTPHandler, key: String) {
        loop.preconditionInEventLoop()
        guard !closed, channel.isActive, idle[key, default: []].count < maxIdlePerHost else {
            channel.close(promise: nil)
            return
        }
        idle[key, default: []].append(Idle(channel: channel, handler: handler, since: .now()))
        if sweep == nil {
            let every = idleTimeout
            sweep = loop.scheduleRepeatedTask(initialDelay: every, delay: every) { [weak self] _ in self?.closeStale() }
        }
    }

    /// Drops a connection the upstream closed while it sat idle.
    func forget(_ channel: any Channel, key: String) {
        loop.preconditionInEventLoop()
        idle[key]?.removeAll { $0.channel === channel }
    }

    /// Opens a new connection to `target` whose answers go to `handler`.
    func connect(_ target: PlainHTTPTarget, handler: LeanHTTPHandler) -> EventLoopFuture<any Channel> {
        ClientBootstrap(group: loop)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: target.host, port: target.port)
    }

    private func closeStale() {
        let now = NIODeadline.now()
        for (key, list) in idle {
            let (keep, stale) = (list.filter { now - $0.since < idleTimeout }, list.filter { now - $0.since >= idleTimeout })
            for s in stale { s.channel.close(promise: nil) }
            idle[key] = keep.isEmpty ? nil : keep
        }
    }

    /// Closes every idle connection; later releases close theirs.
    func shutdown() async {
        let done = loop.submit {
            self.closed = true
            self.sweep?.cancel()
            self.sweep = nil
            let all = self.idle.values.flatMap { $0 }
            self.idle = [:]
            return all.map(\.channel)
        }
        guard let channels = try? await done.get() else { return }
        for c in channels { try? await c.close() }
    }
}
