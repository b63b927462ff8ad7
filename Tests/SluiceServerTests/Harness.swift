import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import SluiceCore
import SluiceEngine
import SluiceServer
import SluiceStore
import SluiceTesting

/// One HTTP exchange as a test sees it.
struct HTTPResult {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }
    var json: JSON { (try? JSON.parse(body)) ?? .null }
    func header(_ name: String) -> String? { headers.first(name: name) }
}

/// A real Sluice server on 127.0.0.1:0 with a temp SQLite file, built from YAML.
struct Harness {
    let port: Int
    let gateway: Gateway
    let client: HTTPClient
    let dbPath: String
    let logs: LogCapture

    var base: String { "http://127.0.0.1:\(port)" }

    /// Runs `body` against a fresh gateway. `yaml` may use `{DB}` for the SQLite path.
    static func with(
        _ yaml: String = "", env: [String: String] = [:], wrapStore: ((SQLiteStore) -> any SluiceStore)? = nil,
        clock: any WallClock = SystemClock(), reloadFrom: String? = nil, guardInterval: Duration = .seconds(2),
        _ body: (Harness) async throws -> Void
    ) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let dbPath = dir.appendingPathComponent("sluice.db").path
        var text = yaml.replacingOccurrences(of: "{DB}", with: dbPath)
        if !text.contains("storage:") { text += "\nstorage: { url: \"sqlite://\(dbPath)\" }\n" }
        let config = try ConfigLoader.parse(text, environment: env)
        let store = try SQLiteStore(path: dbPath, cipher: config.storage.bodyCipher)
        try await store.migrate()
        let logs = LogCapture()
        let logger = Logger(label: "sluice") { label in JSONLogHandler(label: label, sink: .closure { logs.append($0) }) }
        let gateway = Gateway(
            config: config, store: wrapStore?(store) ?? store, logger: logger, clock: clock, prompts: try Gateway.loadPrompts(config),
            configSource: reloadFrom.map { path -> @Sendable () throws -> SluiceConfig in { try ConfigLoader.load(path: path) } },
            guardInterval: guardInterval)
        try await gateway.syncKeys()
        try await gateway.start()
        let (ports, cont) = AsyncStream<Int>.makeStream()
        let app = SluiceApp.build(gateway: gateway, port: 0) { channel in
            cont.yield(channel.localAddress?.port ?? 0)
            cont.finish()
        }
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let runner = Task { try await group.run() }
        var port = 0
        for await p in ports { port = p }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let harness = Harness(port: port, gateway: gateway, client: client, dbPath: dbPath, logs: logs)
        do {
            try await body(harness)
        } catch {
            await group.triggerGracefulShutdown()
            _ = try? await runner.value
            try? await client.shutdown()
            try? await gateway.shutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await runner.value
        try await client.shutdown()
        try await gateway.shutdown()
        try await store.close()
    }

    func request(
        _ method: HTTPMethod, _ path: String, body: String? = nil, bytes: [UInt8]? = nil, headers: [String: String] = [:]
    ) async throws -> HTTPResult {
        var req = HTTPClientRequest(url: base + path)
        req.method = method
        for (k, v) in headers { req.headers.add(name: k, value: v) }
        if let body {
            req.headers.add(name: "content-type", value: "application/json")
            req.body = .bytes(ByteBuffer(string: body))
        } else if let bytes {
            req.body = .bytes(ByteBuffer(bytes: bytes))
        }
        let res = try await client.execute(req, timeout: .seconds(30))
        let buf = try await res.body.collect(upTo: 64 << 20)
        return HTTPResult(status: Int(res.status.code), headers: res.headers, body: Array(buf.readableBytesView))
    }

    func chat(_ body: String, headers: [String: String] = [:]) async throws -> HTTPResult {
        try await request(.POST, "/v1/chat/completions", body: body, headers: headers)
    }

    /// The `data:` payloads of an SSE body, in order.
    static func events(_ body: [UInt8]) -> [String] {
        String(decoding: body, as: UTF8.self).components(separatedBy: "\n\n").compactMap { block in
            block.hasPrefix("data: ") ? String(block.dropFirst(6)) : nil
        }
    }

    /// The stored record of a call, once the call log has written it.
    func record(_ callID: String?) async throws -> CallRecord {
        guard let callID else { throw HarnessError("no call id") }
        await gateway.callLog.flush()
        guard let r = try await gateway.store.get(callID) else { throw HarnessError("no record for \(callID)") }
        return r
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// `models:` and `providers:` pointing at a fake upstream.
func upstreamConfig(_ upstream: FakeUpstream, extra: String = "") -> String {
    """
    providers:
      up: { type: openai_compatible, base_url: "\(upstream.baseURL)", api_key: "sk-provider-secret-123", headers: { X-Team: blue } }
      sim: { type: simulated }
    models:
      fast:
        targets:
          - { provider: up, model: gpt-4o-mini-2024-07-18 }
      private:
        targets:
          - { provider: up, model: my-private-model }
    \(extra)
    """
}

/// Config that turns retries off, for tests about a single failure.
let noRetry = "retry: { max_attempts: 1 }"

let simpleChat = #"{"model":"fast","messages":[{"role":"user","content":"hello"}]}"#

/// Keeps the tests that load the machine (process load tests, PostgreSQL
/// restarts, the Python suite) apart from the tests that measure time against
/// a deadline, so that a 10 % margin measures Sluice, not a starved scheduler.
actor ExclusiveGate {
    static let shared = ExclusiveGate()
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        if busy {
            await withCheckedContinuation { waiters.append($0) }
        } else {
            busy = true
        }
    }

    func release() {
        if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
    }
}

/// Runs `body` while no other exclusive test runs.
func exclusively<T>(_ body: () async throws -> T) async throws -> T {
    await ExclusiveGate.shared.acquire()
    do {
        let value = try await body()
        await ExclusiveGate.shared.release()
        return value
    } catch {
        await ExclusiveGate.shared.release()
        throw error
    }
}
