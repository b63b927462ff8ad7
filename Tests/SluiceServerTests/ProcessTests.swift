import AsyncHTTPClient
import Foundation
import NIOCore
import SluiceCore
import SluiceStore
import SluiceTesting
import Synchronization
import Testing

/// Tests that run the real `sluice` executable.
@Suite(.serialized) struct ProcessTests {
    static let clientKey = "client-secret-abc123def"
    static let providerKey = "sk-provider-secret-xyz789"
    static let adminKey = "admin-secret-qwe456rty"

    func writeConfig(dir: String, upstream: FakeUpstream) throws -> String {
        let yaml = """
            server: { host: 127.0.0.1, port: 0 }
            storage: { url: "sqlite://\(dir)/sluice.db" }
            auth:
              admin_key: ${TEST_ADMIN_KEY}
              keys:
                - { name: app, key: ${TEST_CLIENT_KEY} }
            providers:
              up: { type: openai_compatible, base_url: "\(upstream.baseURL)", api_key: ${TEST_PROVIDER_KEY} }
            models:
              fast: { targets: [ { provider: up, model: gpt-4o-mini-2024-07-18 } ] }
            """
        let path = dir + "/sluice.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    var env: [String: String] {
        ["TEST_ADMIN_KEY": Self.adminKey, "TEST_CLIENT_KEY": Self.clientKey, "TEST_PROVIDER_KEY": Self.providerKey]
    }

    @Test func sigtermUnderLoadLosesNoCallRecordAndLeaksNoSecret() async throws {
        try await exclusively { try await sigtermUnderLoad() }
    }

    func sigtermUnderLoad() async throws {
        let upstream = try await FakeUpstream.start()
        var slow = FakeUpstream.Reply.text("steady answer")
        slow.delayMs = 30
        upstream.setDefault(slow)
        let dir = try makeTempDir()
        let config = try writeConfig(dir: dir, upstream: upstream)
        let server = try SluiceProcess(["serve", "--config", config], directory: dir, environment: env)
        let port = try await server.waitReady()

        var clientConfig = HTTPClient.Configuration()
        clientConfig.connectionPool.retryConnectionEstablishment = false
        clientConfig.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 32
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfig)
        let answered = Locked<[String]>([])
        let total = 400
        let sent = Locked(0)
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<24 {
                group.addTask {
                    while true {
                        let n = sent.withLock { s -> Int in s += 1; return s }
                        if n > total { return }
                        if n == 120, worker >= 0 { server.signal(SIGTERM) }
                        var req = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/chat/completions")
                        req.method = .POST
                        req.headers.add(name: "authorization", value: "Bearer \(Self.clientKey)")
                        req.headers.add(name: "content-type", value: "application/json")
                        req.body = .bytes(ByteBuffer(string: #"{"model":"fast","messages":[{"role":"user","content":"hello \#(n)"}]}"#))
                        guard let res = try? await client.execute(req, timeout: .seconds(20)),
                            let body = try? await res.body.collect(upTo: 1 << 20)
                        else { continue }
                        if res.status == .ok, let id = res.headers.first(name: "X-Sluice-Call-Id"), body.readableBytes > 0 {
                            answered.withLock { $0.append(id) }
                        }
                    }
                }
            }
        }
        try await client.shutdown()
        let status = try await server.waitExit()
        await upstream.stop()
        #expect(status == 0, "\(server.text.suffix(2000))")

        let ids = answered.withLock { $0 }
        #expect(ids.count >= 100, "too few answered before shutdown: \(ids.count)")
        let store = try SQLiteStore(path: dir + "/sluice.db")
        var missing: [String] = []
        for id in ids where try await store.get(id) == nil { missing.append(id) }
        #expect(missing.isEmpty, "answered calls without a row: \(missing.count) of \(ids.count)")
        let rows = try await store.count()
        #expect(rows >= ids.count)
        try await store.close()

        // No client, admin or provider key in the log output or the database files.
        let log = server.text
        #expect(log.contains("\"msg\":\"call\""))
        for secret in [Self.clientKey, Self.providerKey, Self.adminKey] {
            #expect(!log.contains(secret), "secret in log output")
            for file in ["sluice.db", "sluice.db-wal"] {
                if let data = FileManager.default.contents(atPath: dir + "/" + file) {
                    #expect(data.range(of: Data(secret.utf8)) == nil, "secret in \(file)")
                }
            }
        }
    }

    @Test func cliCallsAndCheckConfig() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let dir = try makeTempDir()
        let config = try writeConfig(dir: dir, upstream: upstream)
        let (ok, okText) = try await SluiceProcess.run(["check-config", "--config", config], directory: dir, environment: env)
        #expect(ok == 0)
        #expect(okText.contains("config OK"))

        let server = try SluiceProcess(["serve", "--config", config], directory: dir, environment: env)
        let port = try await server.waitReady()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        for purpose in ["alpha", "beta", "alpha"] {
            var req = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/chat/completions")
            req.method = .POST
            req.headers.add(name: "authorization", value: "Bearer \(Self.clientKey)")
            req.headers.add(name: "X-Sluice-Purpose", value: purpose)
            req.body = .bytes(ByteBuffer(string: #"{"model":"fast","messages":[{"role":"user","content":"hi"}]}"#))
            let res = try await client.execute(req, timeout: .seconds(10))
            #expect(res.status == .ok)
        }
        var taskReq = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/tasks")
        taskReq.method = .POST
        taskReq.headers.add(name: "authorization", value: "Bearer \(Self.clientKey)")
        taskReq.body = .bytes(ByteBuffer(string: #"{"purpose":"alpha","request":{"model":"fast","messages":[{"role":"user","content":"later"}]}}"#))
        let taskRes = try await client.execute(taskReq, timeout: .seconds(10))
        #expect(taskRes.status.code == 202)
        let taskID = try #require(try JSON.parse(String(buffer: try await taskRes.body.collect(upTo: 1 << 20)))["id"]?.stringValue)
        for _ in 0..<200 {
            var get = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/tasks/\(taskID)")
            get.headers.add(name: "authorization", value: "Bearer \(Self.clientKey)")
            let r = try await client.execute(get, timeout: .seconds(10))
            if try JSON.parse(String(buffer: try await r.body.collect(upTo: 1 << 20)))["status"] == "succeeded" { break }
            try await Task.sleep(for: .milliseconds(25))
        }
        try await client.shutdown()
        server.signal(SIGTERM)
        #expect(try await server.waitExit() == 0)

        // sluice tasks: the task ran before the server stopped.
        let (t1, tasksJSON) = try await SluiceProcess.run(["tasks", "list", "--config", config, "--json"], directory: dir, environment: env)
        #expect(t1 == 0, "\(tasksJSON)")
        let listed = try JSON.parse(String(tasksJSON.split(separator: "\n").last { $0.hasPrefix("{") } ?? ""))
        #expect(listed["data"]?.arrayValue?.first?["id"]?.stringValue == taskID)
        #expect(listed["data"]?.arrayValue?.first?["status"] == "succeeded", "\(tasksJSON)")
        let (t2, shown) = try await SluiceProcess.run(["tasks", "show", taskID, "--config", config], directory: dir, environment: env)
        #expect(t2 == 0 && shown.contains(taskID))
        let (t4, shownJSON) = try await SluiceProcess.run(["tasks", "show", taskID, "--config", config, "--json"], directory: dir, environment: env)
        let shownTask = try JSON.parse(String(shownJSON.split(separator: "\n").last { $0.hasPrefix("{") } ?? ""))
        #expect(t4 == 0 && shownTask["id"]?.stringValue == taskID && shownTask["status"] == "succeeded", "\(shownJSON)")
        let (t3, refused) = try await SluiceProcess.run(["tasks", "retry", taskID, "--config", config], directory: dir, environment: env)
        #expect(t3 == 1 && refused.contains("only failed, cancelled or needs_review"), "\(refused)")

        let (s1, table) = try await SluiceProcess.run(["calls", "--config", config, "--purpose", "alpha"], directory: dir, environment: env)
        #expect(s1 == 0)
        let lines = table.split(separator: "\n")
        #expect(lines.first?.hasPrefix("CALL_ID") == true, "\(table)")
        #expect(lines.count == 4, "\(table)")  // two alpha calls and the alpha task's call
        #expect(lines.dropFirst().allSatisfy { $0.contains("alpha") && $0.contains("gpt-4o-mini-2024-07-18") == false && $0.contains("fast") })
        let (s2, jsonText) = try await SluiceProcess.run(["calls", "--config", config, "--json", "--since", "1h"], directory: dir, environment: env)
        #expect(s2 == 0)
        let json = try JSON.parse(jsonText)
        #expect(json["data"]?.arrayValue?.count == 4)

        // sluice costs: the ledger's totals, as a table and as the cost-summary JSON.
        let (c1, costTable) = try await SluiceProcess.run(["costs", "--config", config, "--by", "purpose"], directory: dir, environment: env)
        #expect(c1 == 0, "\(costTable)")
        #expect(costTable.contains("SPEND (USD)"))
        #expect(costTable.contains("PURPOSE") && costTable.contains("alpha") && costTable.contains("beta"), "\(costTable)")
        let (c2, costJSON) = try await SluiceProcess.run(["costs", "--config", config, "--by", "purpose", "--json"], directory: dir, environment: env)
        #expect(c2 == 0)
        let costs = try JSON.parse(String(costJSON.split(separator: "\n").last { $0.hasPrefix("{") } ?? ""))
        let groups = costs["groups"]?.arrayValue ?? []
        #expect(groups.first { $0["purpose"] == "alpha" }?["calls"] == 3, "\(costJSON)")
        #expect(groups.first { $0["purpose"] == "beta" }?["calls"] == 1)
        #expect(costs["today_usd"]?.doubleValue.map { $0 > 0 } == true)
        let (badBy, byText) = try await SluiceProcess.run(["costs", "--config", config, "--by", "colour"], directory: dir, environment: env)
        #expect(badBy != 0 && byText.contains("--by must be one of"), "\(byText)")

        // A port already taken is an error exit, not a silent stop.
        let (s5, busy) = try await SluiceProcess.run(["serve", "--config", config, "--port", "\(upstream.port)"], directory: dir, environment: env)
        #expect(s5 != 0, "\(busy)")
        #expect(busy.contains("server stopped with an error"), "\(busy)")

        // A bad config names the key and line, and exits non-zero.
        let bad = dir + "/bad.yaml"
        try "server:\n  host: 127.0.0.1\n  prot: 8080\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let (s3, err) = try await SluiceProcess.run(["check-config", "--config", bad], directory: dir)
        #expect(s3 != 0)
        #expect(err.contains("server.prot (line 3)"), "\(err)")
        let (s4, err2) = try await SluiceProcess.run(["serve", "--config", config], directory: dir)
        #expect(s4 != 0)
        #expect(err2.contains("environment variable TEST_ADMIN_KEY is not set"), "\(err2)")
    }
}
