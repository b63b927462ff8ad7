import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import SluiceCore
@testable import SluiceProviders
import Synchronization
import Testing

/// The lean plain-HTTP client against a scripted HTTP/1.1 server on loopback:
/// keep-alive reuse, connections the upstream closes, timeouts and cancellation.
@Suite struct LeanHTTPClientTests {
    @Test func plainHTTPTargetsAreSplitAndOthersLeftToAsyncHTTPClient() {
        let t = PlainHTTPTarget("http://127.0.0.1:8080/v1/chat/completions?api-version=1")
        #expect(t == PlainHTTPTarget(host: "127.0.0.1", port: 8080, target: "/v1/chat/completions?api-version=1"))
        #expect(t?.hostHeader == "127.0.0.1:8080")
        #expect(PlainHTTPTarget("http://llm.internal/v1")?.port == 80)
        #expect(PlainHTTPTarget("http://llm.internal/v1")?.hostHeader == "llm.internal")
        #expect(PlainHTTPTarget("http://llm.internal")?.target == "/")
        #expect(PlainHTTPTarget("https://api.openai.com/v1") == nil)
        #expect(PlainHTTPTarget("http://user:pw@host/v1") == nil)
        #expect(PlainHTTPTarget("http://[::1]:8080/v1") == nil)
        #expect(PlainHTTPTarget("http://host:99999/v1") == nil)
    }

    @Test func sequentialRequestsShareOneKeepAliveConnection() async throws {
        try await ScriptedServer.with(.answer) { server, client in
            for i in 0..<5 {
                let r = try await client.execute(Self.call(server, "n\(i)"), to: server.target, deadline: .now() + .seconds(5))
                #expect(r.status == .ok)
                #expect(String(buffer: try await r.body.collect(upTo: 1 << 20)) == "echo:n\(i)")
            }
            #expect(server.connections == 1)
            #expect(server.requests == 5)
        }
    }

    @Test func aConnectionTheUpstreamClosedWhileIdleIsReplacedWithoutFailingTheCall() async throws {
        try await ScriptedServer.with(.answerThenClose(afterMs: 30)) { server, client in
            _ = try await client.execute(Self.call(server, "a"), to: server.target, deadline: .now() + .seconds(5))
            try await Task.sleep(for: .milliseconds(200))
            let r = try await client.execute(Self.call(server, "b"), to: server.target, deadline: .now() + .seconds(5))
            #expect(String(buffer: try await r.body.collect(upTo: 1 << 20)) == "echo:b")
            #expect(server.connections == 2)
        }
    }

    @Test func anAnswerWithConnectionCloseIsNotReused() async throws {
        try await ScriptedServer.with(.answerConnectionClose) { server, client in
            for name in ["a", "b", "c"] {
                let r = try await client.execute(Self.call(server, name), to: server.target, deadline: .now() + .seconds(5))
                #expect(String(buffer: try await r.body.collect(upTo: 1 << 20)) == "echo:\(name)")
            }
            #expect(server.connections == 3)
        }
    }

    @Test func aSilentUpstreamFailsAtTheDeadlineAsATimeout() async throws {
        try await ScriptedServer.with(.silent) { server, client in
            let start = ContinuousClock.now
            await #expect(throws: HTTPClientError.deadlineExceeded) {
                _ = try await client.execute(Self.call(server, "x"), to: server.target, deadline: .now() + .milliseconds(300))
            }
            #expect(ContinuousClock.now - start < .seconds(3))
            #expect(OpenAIProvider.mapTransportError(HTTPClientError.deadlineExceeded).kind == .timeout)
        }
    }

    @Test func anUpstreamThatStallsMidAnswerFailsAfterTheReadTimeout() async throws {
        try await ScriptedServer.with(.headThenStall, readTimeout: .milliseconds(200)) { server, client in
            await #expect(throws: HTTPClientError.readTimeout) {
                _ = try await client.execute(Self.call(server, "x"), to: server.target, deadline: .now() + .seconds(10))
            }
        }
    }

    @Test func aCancelledCallEndsAtOnce() async throws {
        try await ScriptedServer.with(.silent) { server, client in
            let call = Self.call(server, "x")
            let task = Task { try await client.execute(call, to: server.target, deadline: .now() + .seconds(30)) }
            try await Task.sleep(for: .milliseconds(100))
            let start = ContinuousClock.now
            task.cancel()
            await #expect(throws: CancellationError.self) { _ = try await task.value }
            #expect(ContinuousClock.now - start < .seconds(2))
        }
    }

    @Test func aRefusedConnectionFailsAsAConnectionError() async throws {
        let client = LeanHTTPClient(loop: MultiThreadedEventLoopGroup.singleton.next(), connectTimeout: .seconds(2), readTimeout: nil)
        // A port nothing listens on: bind one, then close it.
        let probe = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = probe.localAddress!.port!
        try await probe.close()
        let target = PlainHTTPTarget(host: "127.0.0.1", port: port, target: "/")
        var call = UpstreamCall(url: "http://127.0.0.1:\(port)/")
        call.body = ByteBuffer(string: "x")
        await #expect(throws: (any Error).self) { _ = try await client.execute(call, to: target, deadline: .now() + .seconds(5)) }
        await client.shutdown()
    }

    static func call(_ server: ScriptedServer, _ body: String) -> UpstreamCall {
        var c = UpstreamCall(url: "http://127.0.0.1:\(server.port)/echo")
        c.headers.add(name: "content-type", value: "text/plain")
        c.body = ByteBuffer(string: body)
        return c
    }
}

/// An HTTP/1.1 server on loopback that answers every request per its script and
/// counts connections and requests.
final class ScriptedServer: Sendable {
    enum Script: Sendable { case answer, answerThenClose(afterMs: Int), answerConnectionClose, silent, headThenStall }

    let script: Script
    private let counts = Mutex((connections: 0, requests: 0))
    nonisolated(unsafe) private var channel: (any Channel)?
    var connections: Int { counts.withLock { $0.connections } }
    var requests: Int { counts.withLock { $0.requests } }
    var port: Int { channel!.localAddress!.port! }
    var target: PlainHTTPTarget { PlainHTTPTarget(host: "127.0.0.1", port: port, target: "/echo") }

    init(script: Script) { self.script = script }

    /// Runs `body` with a server following `script` and a lean client on one loop.
    static func with(
        _ script: Script, readTimeout: TimeAmount? = nil, _ body: (ScriptedServer, LeanHTTPClient) async throws -> Void
    ) async throws {
        let server = ScriptedServer(script: script)
        server.channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { ch in
                server.counts.withLock { $0.connections += 1 }
                return ch.eventLoop.makeCompletedFuture {
                    try ch.pipeline.syncOperations.configureHTTPServerPipeline()
                    try ch.pipeline.syncOperations.addHandler(ScriptedHandler(server: server))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let client = LeanHTTPClient(
            loop: MultiThreadedEventLoopGroup.singleton.next(), connectTimeout: .seconds(2), readTimeout: readTimeout)
        do {
            try await body(server, client)
        } catch {
            await client.shutdown()
            try? await server.channel?.close()
            throw error
        }
        await client.shutdown()
        try? await server.channel?.close()
    }

    func counted() { counts.withLock { $0.requests += 1 } }
}

final class ScriptedHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let server: ScriptedServer
    var body = ""

    init(server: ScriptedServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: body = ""
        case .body(let b): body += String(buffer: b)
        case .end:
            server.counted()
            let text = "echo:" + body
            var headers = HTTPHeaders([("content-type", "text/plain"), ("content-length", "\(text.utf8.count)")])
            switch server.script {
            case .silent: return
            case .headThenStall:
                headers.replaceOrAdd(name: "content-length", value: "1000")
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                return
            case .answerConnectionClose: headers.add(name: "connection", value: "close")
            case .answer, .answerThenClose: break
            }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                switch self.server.script {
                case .answerConnectionClose: channel.close(promise: nil)
                case .answerThenClose(let ms): channel.eventLoop.scheduleTask(in: .milliseconds(Int64(ms))) { channel.close(promise: nil) }
                default: break
                }
            }
        }
    }
}
