import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// A server killed with SIGKILL while a dozen tasks run: after a restart every task
/// reaches an end, none is lost or left running, and no call is charged twice.
@Suite(.serialized) struct TaskCrashTests {
    static let key = "crash-client-secret-1"
    static let timeoutS = 2.0
    static let sweepS = 1.0

    func config(dir: String, upstream: FakeUpstream) throws -> String {
        let yaml = """
            server: { host: 127.0.0.1, port: 0 }
            storage: { url: "sqlite://\(dir)/sluice.db" }
            auth:
              admin_key: crash-admin-secret-1
              keys:
                - { name: app, key: \(Self.key) }
            providers:
              up: { type: openai_compatible, base_url: "\(upstream.baseURL)" }
            models:
              fast: { targets: [ { provider: up, model: gpt-4o-mini } ] }
            pricing:
              gpt-4o-mini: { input: 1.0, output: 2.0 }
            tasks: { workers: 12, timeout_s: \(Self.timeoutS), sweep_interval_s: \(Self.sweepS), max_attempts: 2 }
            retry: { max_attempts: 1 }
            """
        let path = dir + "/sluice.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func send(_ client: HTTPClient, port: Int, _ method: HTTPMethod, _ path: String, body: String? = nil) async throws -> JSON {
        try await sendJSON(client, port: port, method, path, key: Self.key, body: body)
    }

    func list(_ client: HTTPClient, port: Int) async throws -> [JSON] {
        try await send(client, port: port, .GET, "/v1/tasks?limit=100")["data"]?.arrayValue ?? []
    }

    @Test func killNineWithTasksRunningThenRestartEndsEveryTask() async throws {
        try await exclusively {
            let upstream = try await FakeUpstream.start()
            defer { Task { await upstream.stop() } }
            var hung = FakeUpstream.Reply.text("never seen")
            hung.delayMs = 20_000
            upstream.setDefault(hung)
            let dir = try makeTempDir()
            let path = try config(dir: dir, upstream: upstream)
            let client = HTTPClient(eventLoopGroupProvider: .singleton)

            let first = try SluiceProcess(["serve", "--config", path], directory: dir)
            let port1 = try await first.waitReady()
            var ids: [String] = []
            for i in 0..<12 {
                let t = try await send(
                    client, port: port1, .POST, "/v1/tasks",
                    body: #"{"purpose":"default","request":{"model":"fast","messages":[{"role":"user","content":"job \#(i)"}]}}"#)
                ids.append(try #require(t["id"]?.stringValue, "\(t)"))
            }
            // Every task is running (its upstream call hangs) when the process is killed.
            var running = 0
            for _ in 0..<200 {
                running = try await list(client, port: port1).filter { $0["status"] == "running" }.count
                if running == 12, upstream.requestCount == 12 { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(running == 12)
            first.signal(SIGKILL)
            _ = try await first.waitExit()

            upstream.setDefault(.text("done after restart", usage: Usage(inputTokens: 100, outputTokens: 50)))
            let second = try SluiceProcess(["serve", "--config", path], directory: dir)
            let port2 = try await second.waitReady()
            let restarted = ContinuousClock.now
            var tasks: [JSON] = []
            while ContinuousClock.now - restarted < .seconds(Self.timeoutS + Self.sweepS + 4) {
                tasks = try await list(client, port: port2)
                if tasks.allSatisfy({ $0["status"] == "succeeded" || $0["status"] == "failed" }) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let ended = ContinuousClock.now - restarted
            #expect(Set(tasks.compactMap { $0["id"]?.stringValue }) == Set(ids), "no task is lost")
            #expect(tasks.allSatisfy { $0["status"] == "succeeded" }, "\(tasks.filter { $0["status"] != "succeeded" })")
            // The killed run was swept (requeued) and the second run finished it: timeout + sweep, plus the run itself.
            #expect(ended < .seconds(Self.timeoutS + Self.sweepS + 2), "took \(ended)")
            #expect(tasks.allSatisfy { $0["attempt_count"] == 2 && $0["call_ids"]?.arrayValue?.count == 1 }, "\(tasks.first ?? .null)")
            second.signal(SIGTERM)
            #expect(try await second.waitExit() == 0, "\(second.text.suffix(1500))")

            // One recorded call and one ledger entry per task: the killed run charged nothing, none twice.
            let store = try SQLiteStore(path: dir + "/sluice.db")
            let calls = try await store.list(CallFilter(limit: 1000))
            let taskCalls = Set(tasks.flatMap { $0["call_ids"]?.arrayValue?.compactMap(\.stringValue) ?? [] })
            #expect(calls.count == 12 && Set(calls.map(\.callID)) == taskCalls)
            let perCall = 100 * 1.0 / 1e6 + 50 * 2.0 / 1e6
            let totals = try await store.ledgerTotals(from: .distantPast, to: .distantFuture, by: nil, purpose: nil)
            #expect(totals.first?.calls == 12)
            #expect(abs((totals.first?.costUSD ?? 0) - 12 * perCall) < 1e-9)
            try await store.close()
            try await client.shutdown()
        }
    }
}
