import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import ServiceLifecycle
import SluiceCore
import Synchronization

/// A scriptable OpenAI-speaking server on `127.0.0.1:0` for end-to-end tests, over plain
/// HTTP or, with `start(tls: true)`, HTTPS with a certificate of a test CA (``TestCertificates``;
/// a provider trusts it through `ca_file: upstream.caFile`).
///
/// It records every request it receives, and answers each with the next
/// scripted ``Reply`` (or a default chat completion when none is queued).
///
/// ```swift
/// let upstream = try await FakeUpstream.start()
/// upstream.enqueue(.status(500, message: "boom"))
/// // point a provider's base_url at upstream.baseURL …
/// await upstream.stop()
/// ```
public final class FakeUpstream: Sendable {
    /// One request as received.
    public struct Received: Sendable {
        /// The HTTP method.
        public var method: String
        /// The request path, such as `/v1/chat/completions`.
        public var path: String
        /// The query string without `?`; empty when there is none.
        public var query: String = ""
        /// Header names lowercased.
        public var headers: [String: String]
        /// The raw body bytes.
        public var body: [UInt8]
        /// The body parsed as JSON, if it was JSON.
        public var json: JSON? { try? JSON.parse(body) }
    }

    /// How to answer one request.
    public struct Reply: Sendable {
        /// The HTTP status; default 200.
        public var status = 200
        /// Extra response headers.
        public var headers: [(String, String)] = []
        /// A fixed body; when `nil` a chat completion (or stream) is generated.
        public var body: [UInt8]?
        /// Delay before the head is sent.
        public var delayMs = 0
        /// The assistant text of a generated answer; defaults to an echo of the last user message.
        public var text: String?
        /// The answered (pinned) model; defaults to the request's model.
        public var answeredModel: String?
        /// The usage a generated answer reports; default 11 input and 7 output tokens.
        public var usage = Usage(inputTokens: 11, outputTokens: 7)
        /// For streams: close the connection after this many events, without `[DONE]`.
        public var cutAfterEvents: Int?
        /// For streams: delay between events.
        public var eventDelayMs = 0
        /// For streams: leave out the usage chunk even when asked for it.
        public var omitUsage = false
        /// A transport fault instead of a clean answer.
        public var fault: Fault?
        /// Anthropic answers only: tool calls after the text.
        public var toolUses: [ToolUse] = []
        /// Call the tools only until a tool result comes back; then answer `The tool said: RESULT`
        /// (an agent loop's second turn).
        public var toolsOnce = false

        /// Transport faults.
        public enum Fault: Sendable {
            /// Reset the connection (TCP RST) without answering.
            case reset
            /// Send the head with the full `content-length`, then only half the body, then close.
            case truncate
        }

        /// The default reply: a generated 200 chat completion.
        public init() {}

        /// A generated chat completion with this text.
        public static func text(_ text: String, model: String? = nil, usage: Usage = Usage(inputTokens: 11, outputTokens: 7)) -> Reply {
            var r = Reply()
            r.text = text
            r.answeredModel = model
            r.usage = usage
            return r
        }

        /// An OpenAI error body with this status.
        public static func status(_ status: Int, message: String = "scripted failure", headers: [(String, String)] = []) -> Reply {
            var r = Reply()
            r.status = status
            r.headers = headers
            r.body = JSON.object(["error": ["message": .string(message), "type": "server_error", "code": nil]]).serialized()
            return r
        }

        /// A connection reset before any answer.
        public static var reset: Reply {
            var r = Reply()
            r.fault = .reset
            return r
        }

        /// A chat completion cut off halfway through its body.
        public static var truncated: Reply {
            var r = Reply()
            r.fault = .truncate
            return r
        }

        /// A raw body with this status.
        public static func raw(_ body: String, status: Int = 200) -> Reply {
            var r = Reply()
            r.status = status
            r.body = Array(body.utf8)
            return r
        }
    }

    /// One scripted Anthropic `tool_use` block.
    public struct ToolUse: Sendable {
        /// The call id, such as `toolu_01`.
        public var id: String
        /// The tool name.
        public var name: String
        /// The arguments.
        public var input: JSON
        /// A tool call; see the properties.
        public init(id: String, name: String, input: JSON) {
            self.id = id
            self.name = name
            self.input = input
        }
    }

    struct State {
        var received: [Received] = []
        var script: [Reply] = []
        var defaultReply = Reply()
        var inFlight = 0
        var peakInFlight = 0
    }

    private let state = Mutex(State())
    /// OpenAI's Batch API and Anthropic's Message Batches API, in memory.
    public let batches = FakeBatchAPI()
    /// Replies by the credential a request carries (key-pool tests); they come before the script.
    public let byCredential = FakeCredentialReplies()
    /// Google's token endpoint and Vertex AI's access check (``FakeVertexAuth``).
    public let vertex = FakeVertexAuth()
    /// The bound port.
    public let port: Int
    /// The certificates it serves TLS with; `nil` for plain HTTP.
    public let certificates: TestCertificates?
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// `http://127.0.0.1:PORT`, or `https://…` when it serves TLS.
    public var origin: String { "\(certificates == nil ? "http" : "https")://127.0.0.1:\(port)" }

    /// `http://127.0.0.1:PORT/v1`, or `https://127.0.0.1:PORT/v1` when it serves TLS.
    public var baseURL: String { origin + "/v1" }

    /// The PEM file of the CA that signed its certificate (for a provider's `ca_file`); `nil` for plain HTTP.
    public var caFile: String? { certificates?.caFile }

    private init(port: Int, certificates: TestCertificates?, group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.certificates = certificates
        self.group = group
        self.task = task
    }

    /// Starts a server on a free loopback port: plain HTTP, or with `tls` HTTPS presenting
    /// `certificates`' leaf (default ``TestCertificates/shared``), valid for `127.0.0.1` and `localhost`.
    public static func start(tls: Bool = false, certificates: TestCertificates? = nil) async throws -> FakeUpstream {
        let certificates = tls ? (certificates ?? .shared) : nil
        let box = Mutex<FakeUpstream?>(nil)
        let router = Router(context: FakeContext.self)
        router.post("**") { request, context in
            let upstream = box.withLock { $0 }!
            return try await upstream.respond(request, channel: context.channel)
        }
        // GET serves the batch APIs' status and result files.
        router.get("**") { request, context in
            let upstream = box.withLock { $0 }!
            return try await upstream.respond(request, channel: context.channel)
        }
        var logger = Logger(label: "fake-upstream")
        logger.logLevel = .error
        let (portStream, portCont) = AsyncStream<Int>.makeStream()
        let server: HTTPServerBuilder = try certificates.map { try .tls(.http1(), tlsConfiguration: $0.serverConfiguration()) } ?? .http1()
        let app = Application(
            router: router, server: server, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portCont.yield(channel.localAddress?.port ?? 0); portCont.finish() },
            logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let task = Task { try await group.run() }
        var port = 0
        for await p in portStream { port = p }
        let upstream = FakeUpstream(port: port, certificates: certificates, group: group, task: task)
        box.withLock { $0 = upstream }
        return upstream
    }

    /// Stops the server.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    /// Queues replies for the next requests, in order.
    public func enqueue(_ replies: Reply...) {
        state.withLock { $0.script.append(contentsOf: replies) }
    }

    /// Sets the reply used when the script is empty.
    public func setDefault(_ reply: Reply) {
        state.withLock { $0.defaultReply = reply }
    }

    /// Every request received so far.
    public var received: [Received] { state.withLock { $0.received } }

    /// How many requests arrived.
    public var requestCount: Int { state.withLock { $0.received.count } }

    /// The most chat requests that were being answered at once (a reply's `delayMs` included).
    public var peakInFlight: Int { state.withLock { $0.peakInFlight } }

    func respond(_ request: Request, channel: any Channel) async throws -> Response {
        let body = Array(try await request.body.collect(upTo: 64 << 20).readableBytesView)
        var headers: [String: String] = [:]
        for f in request.headers { headers[f.name.canonicalName] = f.value }
        let received = Received(
            method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "", headers: headers, body: body)
        if let (status, bytes) = await vertex.handle(received, origin: origin) {
            state.withLock { $0.received.append(received) }
            return Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        let batchReply = state.withLock { $0.defaultReply }
        if let (status, bytes) = batches.handle(
            method: received.method, path: received.path, headers: headers, body: body, baseURL: baseURL, reply: batchReply)
        {
            state.withLock { $0.received.append(received) }
            var fields = HTTPFields()
            fields[.contentType] = received.path.hasSuffix("/content") || received.path.hasSuffix("/results") ? "application/jsonl" : "application/json"
            return Response(status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        let keyed = byCredential.next(for: headers)
        let scripted = state.withLock { s -> Reply in
            s.received.append(received)
            s.inFlight += 1
            s.peakInFlight = max(s.peakInFlight, s.inFlight)
            return keyed ?? (s.script.isEmpty ? s.defaultReply : s.script.removeFirst())
        }
        defer { state.withLock { $0.inFlight -= 1 } }
        if scripted.delayMs > 0 { try await Task.sleep(for: .milliseconds(scripted.delayMs)) }
        if case .reset = scripted.fault {
            // SO_LINGER 0 turns the close into a reset.
            if let options = channel as? any SocketOptionProvider {
                try? await options.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
            }
            try? await channel.close().get()
            throw CancellationError()
        }
        var fields = HTTPFields()
        for (k, v) in scripted.headers { fields[HTTPField.Name(k)!] = v }
        if let fixed = scripted.body {
            if fields[.contentType] == nil { fields[.contentType] = "application/json" }
            return Response(status: .init(code: scripted.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: fixed)))
        }
        let json = received.json?.objectValue ?? JSONObject()
        let reply = Self.answering(scripted, json)
        if received.path.hasSuffix("/embeddings") || received.path.hasSuffix(":batchEmbedContents") {
            fields[.contentType] = "application/json"
            let list = received.path.hasSuffix("/embeddings") ? Self.embeddings(for: json, reply: reply) : Self.geminiEmbeddings(for: json)
            return Response(status: .init(code: reply.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: list)))
        }
        if received.path.hasSuffix("/responses") {
            let answer = FakeResponsesAnswer(request: json, reply: reply)
            if json["stream"]?.boolValue == true {
                fields[.contentType] = "text/event-stream"
                let events = answer.events()
                let cutAfter = reply.cutAfterEvents, delay = reply.eventDelayMs
                return Response(status: .init(code: reply.status), headers: fields, body: ResponseBody { writer in
                    for (i, event) in events.enumerated() {
                        if let cut = cutAfter, i >= cut { throw CancellationError() }
                        if delay > 0, i > 0 { try await Task.sleep(for: .milliseconds(delay)) }
                        try await writer.write(ByteBuffer(bytes: event))
                    }
                    try await writer.finish(nil)
                })
            }
            fields[.contentType] = "application/json"
            return Response(status: .init(code: reply.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: answer.whole())))
        }
        if received.path.hasSuffix("/converse") || received.path.hasSuffix("/converse-stream") {
            return FakeBedrockAnswer(request: json, reply: reply)
                .response(stream: received.path.hasSuffix("/converse-stream"), reply: reply, headers: fields)
        }
        let anthropic = received.path.hasSuffix("/messages") || received.path.hasSuffix("RawPredict") || received.path.hasSuffix(":rawPredict")
        let gemini = received.path.hasSuffix(":generateContent") || received.path.hasSuffix(":streamGenerateContent")
        let answer = FakeAnswer(request: json, reply: reply)
        if json["stream"]?.boolValue == true || received.path.hasSuffix(":streamGenerateContent") {
            fields[.contentType] = "text/event-stream"
            let events =
                gemini
                ? FakeGeminiAnswer(request: json, reply: reply).events()
                : anthropic ? FakeAnthropicAnswer(request: json, reply: reply).events() : answer.events()
            return Response(status: .init(code: reply.status), headers: fields, body: ResponseBody { writer in
                for (i, event) in events.enumerated() {
                    if let cut = reply.cutAfterEvents, i >= cut {
                        // Let the events already written leave the server's outbound queue
                        // before the connection drops (closing at once could discard them).
                        if i > 0 { try? await Task.sleep(for: .milliseconds(50)) }
                        throw CancellationError()
                    }
                    if reply.eventDelayMs > 0, i > 0 { try await Task.sleep(for: .milliseconds(reply.eventDelayMs)) }
                    try await writer.write(ByteBuffer(bytes: event))
                }
                try await writer.finish(nil)
            })
        }
        fields[.contentType] = "application/json"
        let completion =
            gemini
            ? FakeGeminiAnswer(request: json, reply: reply).whole()
            : anthropic ? FakeAnthropicAnswer(request: json, reply: reply).message() : answer.completion()
        if case .truncate = reply.fault {
            fields[.contentLength] = "\(completion.count)"
            return Response(status: .init(code: reply.status), headers: fields, body: ResponseBody { writer in
                try await writer.write(ByteBuffer(bytes: completion.prefix(completion.count / 2)))
                try await Task.sleep(for: .milliseconds(20))
                try? await channel.close().get()
                throw CancellationError()
            })
        }
        return Response(status: .init(code: reply.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: completion)))
    }
}

/// The fake's request context: it keeps the channel, so that a reply can reset the connection.
struct FakeContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
