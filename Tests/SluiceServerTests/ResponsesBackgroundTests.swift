import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// `background: true`: the response is a durable task. Killed with SIGKILL while it runs,
/// the node restarts and the response completes; a queued one can be cancelled.
@Suite(.serialized) struct ResponsesBackgroundTests {
    static let key = "bg-client-secret-1"

    func config(dir: String, upstream: FakeUpstream, workers: Int = 2) throws -> String {
        let yaml = """
            server: { host: 127.0.0.1, port: 0 }
            storage: { url: "sqlite://\(dir)/sluice.db" }
            auth:
              admin_key: bg-admin-secret-1
              keys:
                - { name: app, key: \(Self.key) }
            providers:
              up: { type: openai_compatible, base_url: "\(upstream.baseURL)" }
            models:
              fast: { targets: [ { provider: up, model: gpt-4o-mini } ] }
            tasks: { workers: \(workers), timeout_s: 2, sweep_interval_s: 1, max_attempts: 2 }
            retry: { max_attempts: 1 }
            """
        let path = dir + "/sluice.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func send(_ client: HTTPClient, port: Int, _ method: HTTPMethod, _ path: String, body: String? = nil) async throws -> JSON {
        try await sendJSON(client, port: port, method, path, key: Self.key, body: body)
    }

    @Test func aBackgroundResponseSurvivesKillNine() async throws {
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
            let created = try await send(
                client, port: port1, .POST, "/v1/responses", body: #"{"model":"fast","input":"a slow job","background":true}"#)
            #expect(created["status"] == "queued", "\(created)")
            #expect(created["background"] == true)
            let id = try #require(created["id"]?.stringValue, "\(created)")
            var status = JSON.null
            for _ in 0..<200 {
                status = try await send(client, port: port1, .GET, "/v1/responses/\(id)")["status"] ?? .null
                if status == "in_progress", upstream.requestCount == 1 { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(status == "in_progress")
            first.signal(SIGKILL)
            _ = try await first.waitExit()

            upstream.setDefault(.text("done after restart"))
            let second = try SluiceProcess(["serve", "--config", path], directory: dir)
            let port2 = try await second.waitReady()
            var done = JSON.null
            let restarted = ContinuousClock.now
            while ContinuousClock.now - restarted < .seconds(10) {
                done = try await send(client, port: port2, .GET, "/v1/responses/\(id)")
                if done["status"] == "completed" || done["status"] == "failed" { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(done["status"] == "completed", "\(done)")
            #expect(done["id"]?.stringValue == id)
            #expect(done["output"]?.arrayValue?.first?["content"]?.arrayValue?.first?["text"] == "done after restart")
            #expect(done["background"] == true)
            second.signal(SIGTERM)
            #expect(try await second.waitExit() == 0, "\(second.text.suffix(1500))")
            try await client.shutdown()
        }
    }

    @Test func aQueuedBackgroundResponseCanBeCancelled() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        // No workers: the response stays queued until cancelled.
        let yaml = """
            providers:
              up: { type: openai_compatible, base_url: "\(upstream.baseURL)" }
            models:
              fast: { targets: [ { provider: up, model: gpt-4o-mini } ] }
            tasks: { workers: 0 }
            """
        try await Harness.with(yaml) { h in
            let created = try await h.request(.POST, "/v1/responses", body: #"{"model":"fast","input":"later","background":true}"#)
            let id = try #require(created.json["id"]?.stringValue, "\(created.text)")
            let cancelled = try await h.request(.POST, "/v1/responses/\(id)/cancel")
            #expect(cancelled.status == 200, "\(cancelled.text)")
            #expect(cancelled.json["status"] == "cancelled")
            #expect(try await h.request(.GET, "/v1/responses/\(id)").json["status"] == "cancelled")
            // A response that is not a background one cannot be cancelled.
            let whole = try await h.request(.POST, "/v1/responses", body: #"{"model":"fast","input":"now"}"#)
            let wid = try #require(whole.json["id"]?.stringValue)
            #expect(try await h.request(.POST, "/v1/responses/\(wid)/cancel").status == 400)
            #expect(upstream.requestCount == 1)
        }
    }
}
