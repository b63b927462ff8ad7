// stream-load: a load generator for streamed (SSE) HTTP answers that measures the time to
// the first chunk with thousands of keep-alive connections on a few NIO event loops.
// See README.md.
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - shared state of one event loop

/// The counts and samples of one event loop's connections.
struct Tally: Sendable {
    var requests = 0, non200 = 0, socket = 0, timeouts = 0, badBody = 0
    /// Over the whole run (ramp, warm-up and drain included): requests sent, and answers read to their end.
    var sent = 0, allCompleted = 0
    var ttfcUs: [Int64] = []
    var totalUs: [Int64] = []
}

/// One event loop's connections and tally. All of its mutable state is only touched on `loop`
/// (every entry point runs there), hence `@unchecked Sendable`.
final class Driver: @unchecked Sendable {
    let loop: any EventLoop
    let plan: Plan
    private(set) var tally = Tally()
    private var conns: [ObjectIdentifier: StreamHandler] = [:]

    init(loop: any EventLoop, plan: Plan) {
        self.loop = loop
        self.plan = plan
        tally.ttfcUs.reserveCapacity(1 << 14)
        tally.totalUs.reserveCapacity(1 << 14)
    }

    func inWindow(_ t: NIODeadline) -> Bool { t >= plan.windowStart && t <= plan.windowEnd }
    func stopped(_ t: NIODeadline) -> Bool { t >= plan.windowEnd }

    /// Opens one connection (one slot of `--connections`) unless the window is over.
    func open() {
        guard !stopped(.now()) else { return }
        let plan = plan
        ClientBootstrap(group: loop)
            .connectTimeout(plan.timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(StreamHandler(driver: self))
                }
            }
            .connect(to: plan.address)
            .hop(to: loop).assumeIsolated().whenFailure { [self] _ in
                let now = NIODeadline.now()
                if inWindow(now) { tally.socket += 1 }
                reopen(after: .milliseconds(50))
            }
    }

    func reopen(after delay: TimeAmount) {
        if stopped(.now()) { return }
        if delay == .zero { open(); return }
        loop.assumeIsolated().scheduleTask(in: delay) { [self] in open() }
    }

    func register(_ h: StreamHandler) { conns[ObjectIdentifier(h)] = h }
    func unregister(_ h: StreamHandler) { conns[ObjectIdentifier(h)] = nil }

    func record(ttfc: TimeAmount, total: TimeAmount) {
        tally.requests += 1
        tally.ttfcUs.append(ttfc.nanoseconds / 1000)
        tally.totalUs.append(total.nanoseconds / 1000)
    }
    func countSent() { tally.sent += 1 }
    func countEnded() { tally.allCompleted += 1 }
    func countNon200() { tally.non200 += 1 }
    func countBadBody() { tally.badBody += 1 }
    func countSocket() { tally.socket += 1 }

    /// Every `sweepEvery`, times out the requests in flight for longer than `--timeout`.
    func sweep() {
        let now = NIODeadline.now()
        let late = conns.values.filter { $0.inFlight && now - $0.t0 >= plan.timeout }
        for h in late {
            if inWindow(now) { tally.timeouts += 1 }
            h.abandon()
        }
        loop.assumeIsolated().scheduleTask(in: plan.sweepEvery) { [self] in sweep() }
    }

    /// After the window: closes the connections with nothing in flight; returns how many are left.
    func drainStep() -> Int {
        for h in conns.values where !h.inFlight { h.abandon() }
        return conns.count
    }

    func closeAll() { for h in conns.values { h.abandon() } }
}

// MARK: - one connection

final class StreamHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let driver: Driver
    private var context: ChannelHandlerContext?
    private(set) var inFlight = false
    private(set) var t0 = NIODeadline.uptimeNanoseconds(0)
    private var tFirst: NIODeadline?
    private var status: HTTPResponseStatus = .ok
    private var keepAlive = true
    private var matched = 0      // KMP state over `--expect`
    private var found = false
    /// Set when we close the connection ourselves: its closing is no `socket` error.
    private var closing = false

    init(driver: Driver) { self.driver = driver }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        driver.register(self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        driver.unregister(self)
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        if driver.stopped(.now()) { abandon() } else { send(context: context) }
        context.fireChannelActive()
    }

    private func send(context: ChannelHandlerContext) {
        let plan = driver.plan
        tFirst = nil
        matched = 0
        found = plan.expect.isEmpty
        inFlight = true
        driver.countSent()
        t0 = .now()
        context.write(wrapOutboundOut(.head(plan.head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(plan.body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            status = h.status
            keepAlive = h.isKeepAlive
        case .body(let b):
            guard inFlight, b.readableBytes > 0 else { return }
            if tFirst == nil { tFirst = .now() }
            if !found { scan(b) }
        case .end:
            guard inFlight else { return }
            let tEnd = NIODeadline.now()
            inFlight = false
            driver.countEnded()
            if driver.inWindow(tEnd) {
                if status != .ok {
                    driver.countNon200()
                } else if !found {
                    driver.countBadBody()
                } else {
                    driver.record(ttfc: (tFirst ?? tEnd) - t0, total: tEnd - t0)
                }
            }
            if driver.stopped(tEnd) {
                abandon()
            } else if !keepAlive {
                abandon()  // channelInactive opens the next connection at once
            } else {
                send(context: context)
            }
        }
    }

    /// Feeds the body bytes to a KMP matcher for `--expect`, so the match works across chunks.
    private func scan(_ b: ByteBuffer) {
        let pat = driver.plan.expect, fail = driver.plan.expectFail
        var m = matched
        b.withUnsafeReadableBytes { raw in
            for c in raw {
                while m > 0 && pat[m] != c { m = fail[m - 1] }
                if pat[m] == c { m += 1 }
                if m == pat.count { found = true; return }
            }
        }
        matched = m
    }

    /// Closes the connection on purpose (timeout, end of the test, or `Connection: close`).
    func abandon() {
        guard let context, !closing else { return }
        closing = true
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let wasInFlight = inFlight
        inFlight = false
        if closing {
            // A timeout reopens after a pause; an answer with `Connection: close` at once.
            driver.reopen(after: wasInFlight ? .milliseconds(50) : .zero)
        } else {
            if wasInFlight, driver.inWindow(.now()) { driver.countSocket() }
            driver.reopen(after: .milliseconds(50))
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)  // counted in channelInactive if a request was in flight
    }
}

// MARK: - main

let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
signal(SIGPIPE, SIG_IGN)
let fdLimit = raiseFileLimit()
if fdLimit < UInt64(options.connections) + 64 {
    warn("open-file limit is \(fdLimit), too low for \(options.connections) connections (raise it with ulimit -n)")
}
let address: SocketAddress
do {
    address = try SocketAddress.makeAddressResolvingHost(options.host, port: options.port)
} catch {
    fail("cannot resolve \(options.host): \(error)")
}

let start = NIODeadline.now()
let plan = Plan(options: options, address: address, start: start)
let group = MultiThreadedEventLoopGroup(numberOfThreads: options.threads)
var drivers: [Driver] = []
var it = group.makeIterator()
while let loop = it.next() { drivers.append(Driver(loop: loop, plan: plan)) }

for d in drivers { d.loop.execute { d.sweep() } }
let rampNs = Int64(options.rampMs) * 1_000_000
for i in 0 ..< options.connections {
    let d = drivers[i % drivers.count]
    let at = start + .nanoseconds(rampNs * Int64(i) / Int64(options.connections))
    d.loop.scheduleTask(deadline: at) { d.open() }
}
warn("\(options.connections) connections to \(options.host):\(options.port)\(options.path), ramp \(options.rampMs) ms, warm-up \(fmt(options.warmup)) s, window \(fmt(options.duration)) s")

// Wait for the end of the window, then for the requests in flight (at most --timeout).
try? drivers[0].loop.scheduleTask(deadline: plan.windowEnd) {}.futureResult.wait()
let drainEnd = plan.windowEnd + plan.timeout
while NIODeadline.now() < drainEnd {
    let left = drivers.map { d in d.loop.submit { d.drainStep() } }
    let open = left.reduce(0) { $0 + ((try? $1.wait()) ?? 0) }
    if open == 0 { break }
    try? drivers[0].loop.scheduleTask(in: .milliseconds(50)) {}.futureResult.wait()
}
var tally = Tally()
for d in drivers {
    guard let t = try? d.loop.submit({ () -> Tally in d.closeAll(); return d.tally }).wait() else { continue }
    tally.requests += t.requests; tally.non200 += t.non200; tally.socket += t.socket
    tally.timeouts += t.timeouts; tally.badBody += t.badBody
    tally.sent += t.sent; tally.allCompleted += t.allCompleted
    tally.ttfcUs += t.ttfcUs; tally.totalUs += t.totalUs
}
try? group.syncShutdownGracefully()

report(tally, options: options)
exit(0)
