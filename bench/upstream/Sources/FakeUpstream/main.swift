// fake-upstream: an OpenAI-compatible chat upstream that answers after a set delay,
// or streams chunks at a set cadence. See README.md.
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - options

struct Options: Sendable {
    var host = "127.0.0.1"
    var port = 18190
    var delayMs: Int64 = 500
    var chunks = 20
    var chunkMs: Int64 = 25
    var jitterMs: Int64 = 0
    var threads = 1

    static func parse(_ args: [String]) -> Options {
        var o = Options()
        var i = 0
        func value(_ name: String) -> String {
            i += 1
            guard i < args.count else { fail("\(name) needs a value") }
            return args[i]
        }
        func int(_ name: String, min: Int) -> Int {
            let v = value(name)
            guard let n = Int(v), n >= min else { fail("\(name) must be a whole number >= \(min), got '\(v)'") }
            return n
        }
        while i < args.count {
            switch args[i] {
            case "--host": o.host = value("--host")
            case "--port": o.port = int("--port", min: 1)
            case "--delay-ms": o.delayMs = Int64(int("--delay-ms", min: 0))
            case "--chunks": o.chunks = int("--chunks", min: 1)
            case "--chunk-ms": o.chunkMs = Int64(int("--chunk-ms", min: 0))
            case "--jitter-ms": o.jitterMs = Int64(int("--jitter-ms", min: 0))
            case "--threads": o.threads = int("--threads", min: 1)
            case "-h", "--help":
                print("usage: fake-upstream [--host 127.0.0.1] [--port 18190] [--delay-ms 500] [--chunks 20] [--chunk-ms 25] [--jitter-ms 0] [--threads 1]")
                exit(0)
            default: fail("unknown argument '\(args[i])' (see --help)")
            }
            i += 1
        }
        if o.jitterMs > o.delayMs { fail("--jitter-ms must not exceed --delay-ms") }
        return o
    }
}

func fail(_ message: String) -> Never {
    var err = "fake-upstream: \(message)\n"
    err.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(2)
}

// MARK: - canned answers

/// The assistant's message: about 530 characters of plain prose.
let message = """
Sure. A gateway in front of your model providers gives you one place to enforce budgets, \
retry failed calls, and fall back to a second provider when the first one is slow or down. \
It also records every call, so you can see what each feature costs and how long it takes. \
Start with a single route for your most common request, measure its latency and error rate \
for a week, and only then add caching for the prompts that repeat. Keep the timeouts short \
enough that a stuck upstream fails over before your users notice the delay.
"""

let model = "gpt-4o-mini-2024-07-18"
let callID = "chatcmpl-AbCdEfGhIjKlMnOpQrStUvWxYz012"
let created = 1_732_000_000
let usage = #"{"prompt_tokens":42,"completion_tokens":108,"total_tokens":150,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}"#

func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 {
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}

/// `text` split into `n` pieces at spaces (each piece keeps its leading space), as even as it goes.
func split(_ text: String, into n: Int) -> [String] {
    let words = text.split(separator: " ", omittingEmptySubsequences: false).enumerated().map { $0.offset == 0 ? String($0.element) : " " + $0.element }
    guard n > 1, words.count > 1 else { return [text] + Array(repeating: "", count: max(0, n - 1)) }
    var pieces: [String] = []
    var current = ""
    var remaining = text.count
    for w in words {
        current += w
        let left = n - pieces.count
        if left > 1, current.count >= remaining / left {
            pieces.append(current)
            remaining -= current.count
            current = ""
        }
    }
    pieces.append(current)
    while pieces.count < n { pieces.append("") }
    return pieces
}

struct Answers: Sendable {
    let json: ByteBuffer
    /// The stream's chunk events, in order; the last one is the usage chunk plus `[DONE]`.
    let events: [ByteBuffer]

    init(chunks: Int) {
        let head = #"{"id":"\#(callID)","object":"chat.completion.chunk","created":\#(created),"model":"\#(model)","service_tier":"default","system_fingerprint":"fp_0ba0d124f1","choices":"#
        json = ByteBuffer(string: #"{"id":"\#(callID)","object":"chat.completion","created":\#(created),"model":"\#(model)","choices":[{"index":0,"message":{"role":"assistant","content":\#(jsonString(message)),"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":\#(usage),"service_tier":"default","system_fingerprint":"fp_0ba0d124f1"}"#)
        var events: [ByteBuffer] = []
        let pieces = split(message, into: chunks)
        for (i, piece) in pieces.enumerated() {
            let role = i == 0 ? #""role":"assistant","# : ""
            let finish = i == pieces.count - 1 ? #""stop""# : "null"
            events.append(ByteBuffer(string: "data: " + head + #"[{"index":0,"delta":{\#(role)"content":\#(jsonString(piece))},"logprobs":null,"finish_reason":\#(finish)}],"usage":null}"# + "\n\n"))
        }
        events.append(ByteBuffer(string: "data: " + head + #"[],"usage":\#(usage)}"# + "\n\ndata: [DONE]\n\n"))
        self.events = events
    }
}

// MARK: - the handler

/// Whether a JSON request body asks for a stream: `"stream"`, optional spaces, `:`, optional spaces, `true`.
func wantsStream(_ body: ByteBuffer?) -> Bool {
    guard let body else { return false }
    return body.withUnsafeReadableBytes { raw -> Bool in
        let b = Array(raw)
        let key: [UInt8] = Array(#""stream""#.utf8)
        let t: [UInt8] = Array("true".utf8)
        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }
        var i = 0
        while i + key.count <= b.count {
            if b[i] == key[0], Array(b[i ..< i + key.count]) == key {
                var j = i + key.count
                while j < b.count, isSpace(b[j]) { j += 1 }
                if j < b.count, b[j] == UInt8(ascii: ":") {
                    j += 1
                    while j < b.count, isSpace(b[j]) { j += 1 }
                    return j + t.count <= b.count && Array(b[j ..< j + t.count]) == t
                }
            }
            i += 1
        }
        return false
    }
}

final class UpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let options: Options
    let answers: Answers
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var pending: Scheduled<Void>?

    init(options: Options, answers: Answers) {
        self.options = options
        self.answers = answers
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = nil
        case .body(var b):
            if body == nil { body = b } else if body!.readableBytes < 1 << 20 { body!.writeBuffer(&b) }
        case .end:
            guard let h = head else { return }
            head = nil
            respond(context: context, to: h, body: body)
            body = nil
        }
    }

    private func respond(context: ChannelHandlerContext, to h: HTTPRequestHead, body: ByteBuffer?) {
        let path = h.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? h.uri
        if h.method == .GET, path == "/healthz" {
            send(context: context, status: .ok, type: "text/plain", body: ByteBuffer(string: "ok"), keepAlive: h.isKeepAlive)
        } else if h.method == .POST, path.hasSuffix("/chat/completions") {
            // The delay of this answer: delay-ms, give or take up to jitter-ms (uniform), so that
            // many connections do not stay in lockstep.
            let jitter = options.jitterMs > 0 ? Int64.random(in: -options.jitterMs ... options.jitterMs) : 0
            let start = NIODeadline.now() + .milliseconds(jitter)
            let loop = context.eventLoop.assumeIsolated()
            if wantsStream(body) {
                pending = loop.scheduleTask(deadline: start + .milliseconds(options.delayMs)) { [self] in
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: "text/event-stream")
                    headers.add(name: "Cache-Control", value: "no-cache")
                    headers.add(name: "Transfer-Encoding", value: "chunked")
                    if !h.isKeepAlive { headers.add(name: "Connection", value: "close") }
                    context.write(wrapOutboundOut(.head(HTTPResponseHead(version: h.version, status: .ok, headers: headers))), promise: nil)
                    streamEvent(context: context, index: 0, start: start, keepAlive: h.isKeepAlive)
                }
            } else {
                pending = loop.scheduleTask(deadline: start + .milliseconds(options.delayMs)) { [self] in
                    pending = nil
                    send(context: context, status: .ok, type: "application/json", body: answers.json, keepAlive: h.isKeepAlive)
                }
            }
        } else {
            send(context: context, status: .notFound, type: "application/json",
                 body: ByteBuffer(string: #"{"error":{"message":"not found","type":"invalid_request_error"}}"#), keepAlive: h.isKeepAlive)
        }
    }

    /// Writes event `index` now, and schedules the next on the cadence measured from `start`.
    private func streamEvent(context: ChannelHandlerContext, index: Int, start: NIODeadline, keepAlive: Bool) {
        pending = nil
        guard context.channel.isActive else { return }
        context.write(wrapOutboundOut(.body(.byteBuffer(answers.events[index]))), promise: nil)
        if index == answers.events.count - 1 {
            finish(context: context, keepAlive: keepAlive)
            return
        }
        context.flush()
        let next = start + .milliseconds(options.delayMs + options.chunkMs * Int64(index + 1))
        pending = context.eventLoop.assumeIsolated().scheduleTask(deadline: next) { [self] in
            streamEvent(context: context, index: index + 1, start: start, keepAlive: keepAlive)
        }
    }

    private func send(context: ChannelHandlerContext, status: HTTPResponseStatus, type: String, body: ByteBuffer, keepAlive: Bool) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: type)
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        finish(context: context, keepAlive: keepAlive)
    }

    private func finish(context: ChannelHandlerContext, keepAlive: Bool) {
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        pending?.cancel()
        pending = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

// MARK: - main

let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
let answers = Answers(chunks: options.chunks)
signal(SIGPIPE, SIG_IGN)
let group = MultiThreadedEventLoopGroup(numberOfThreads: options.threads)
let bootstrap = ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 8192)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelOption(.maxMessagesPerRead, value: 16)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
            try channel.pipeline.syncOperations.addHandler(UpstreamHandler(options: options, answers: answers))
        }
    }
do {
    let server = try bootstrap.bind(host: options.host, port: options.port).wait()
    var line = "fake-upstream listening on \(options.host):\(options.port) (delay \(options.delayMs) ± \(options.jitterMs) ms, \(options.chunks) chunks every \(options.chunkMs) ms, \(options.threads) loop(s); JSON \(answers.json.readableBytes) B, stream \(answers.events.reduce(0) { $0 + $1.readableBytes }) B)\n"
    line.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
    try server.closeFuture.wait()
} catch {
    fail("\(error)")
}
