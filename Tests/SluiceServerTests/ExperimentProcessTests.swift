import Foundation
import SluiceCore
import SluiceTesting
import Testing

/// Reloads, flags and experiments through the real `sluice` executable on SQLite.
@Suite(.serialized) struct ExperimentProcessTests {
    static let adminKey = "admin-secret-flags-1"

    /// Writes `DIR/sluice.yaml` for a triage purpose configured as `triage`; returns its path.
    @discardableResult
    static func writeConfig(dir: String, upstream: FakeUpstream, triage: String) throws -> String {
        let path = dir + "/sluice.yaml"
        let yaml = FlagTests.config(upstream, prompts: dir + "/prompts", triage: triage) + """

            server: { host: 127.0.0.1, port: 0 }
            storage: { url: "sqlite://\(dir)/sluice.db" }
            """
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Starts `sluice serve` on a triage purpose (prompts v3 and v4), runs `body` with the
    /// process and its port, then stops it with SIGTERM (SIGKILL when `body` throws).
    static func serving(
        triage: String, _ body: (_ server: SluiceProcess, _ port: Int, _ dir: String, _ upstream: FakeUpstream) async throws -> Void
    ) async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("bug"))
        let dir = try makeTempDir()
        _ = try FlagTests.versionedPrompts(in: dir + "/prompts")
        let config = try writeConfig(dir: dir, upstream: upstream, triage: triage)
        let server = try SluiceProcess(["serve", "--config", config], directory: dir)
        do {
            let port = try await server.waitReady()
            try await body(server, port, dir, upstream)
        } catch {
            server.signal(SIGKILL)
            throw error
        }
        server.signal(SIGTERM)
        #expect(try await server.waitExit() == 0, "\(server.text.suffix(1500))")
    }

    /// Runs triage (for `user`, or unkeyed); returns (status, prompt_version, variant).
    static func run(_ client: NodeClient, port: Int, user: String? = nil) async throws -> (Int, String?, String?) {
        let body = user.map { #"{"variables":{"ticket":"t"},"user":"\#($0)"}"# } ?? #"{"variables":{"ticket":"t"}}"#
        let r = try await client.send(.POST, port: port, "/v1/purposes/triage/run", body: body)
        return (r.status, r.json["prompt_version"]?.stringValue, r.json["variant"]?.stringValue)
    }

    static func occurrences(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    @Test func sighupReloadsTheConfigAndKeepsTheOldOneWhenTheNewOneIsBroken() async throws {
        try await exclusively {
            try await Self.serving(triage: "{ prompt: triage, prompt_version: v3, model: fast }") { server, port, dir, upstream in
                let client = NodeClient.make()
                defer { Task { try? await client.http.shutdown() } }
                func served() async throws -> (String?, String?) {
                    let r = try await Self.run(client, port: port, user: "u1")
                    #expect(r.0 == 200)
                    return (r.1, upstream.received.last?.json?["model"]?.stringValue)
                }
                #expect(try await served() == ("v3", "gpt-4o-mini"))

                // A new prompt version and model: served within 5 s of the signal.
                try Self.writeConfig(dir: dir, upstream: upstream, triage: "{ prompt: triage, prompt_version: v4, model: smart }")
                server.signal(SIGHUP)
                let sent = ContinuousClock.now
                var now = try await served()
                while now != ("v4", "gpt-4o"), ContinuousClock.now - sent < .seconds(5) {
                    try await Task.sleep(for: .milliseconds(25))
                    now = try await served()
                }
                #expect(now == ("v4", "gpt-4o"), "still serving \(now) 5 s after SIGHUP:\n\(server.text.suffix(1500))")
                #expect(server.text.contains("\"msg\":\"config reloaded\""))

                // A config naming a prompt version that does not exist, then one that is not YAML:
                // each is refused and logged, and the reloaded config keeps serving.
                let broken = [
                    "{ prompt: triage, prompt_version: v9, model: fast }",
                    "{ prompt: triage, model: fast\n  nonsense: [",
                ]
                for (n, triage) in broken.enumerated() {
                    try Self.writeConfig(dir: dir, upstream: upstream, triage: triage)
                    server.signal(SIGHUP)
                    let deadline = ContinuousClock.now + .seconds(5)
                    while Self.occurrences("SIGHUP reload refused", in: server.text) < n + 1, ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(25))
                    }
                    #expect(Self.occurrences("SIGHUP reload refused", in: server.text) == n + 1, "\(server.text.suffix(1500))")
                    for _ in 0..<5 { #expect(try await served() == ("v4", "gpt-4o")) }
                }
                let refusal = server.text.split(separator: "\n").first { $0.contains("SIGHUP reload refused") } ?? ""
                #expect(refusal.contains("\"level\":\"error\"") && refusal.contains("v9"), "\(refusal)")
                #expect(server.process.isRunning)
            }
        }
    }

    @Test func flagsSetWithAGuardFromTheCommandLineAndUnkeyedCallsServeBothArms() async throws {
        try await Self.serving(triage: "{ prompt: triage, prompt_version: v3, model: fast }") { _, port, dir, _ in
            let admin = ["--url", "http://127.0.0.1:\(port)", "--admin-key", Self.adminKey]
            let (code, out) = try await SluiceProcess.run(
                ["flags", "set", "triage.variants=v3:50,v4:50", "--guard", "max_error_rate=0.5,min_calls=10", "--actor", "oncall-ann",
                 "--reason", "canary v4"] + admin,
                directory: dir)
            #expect(code == 0, "\(out)")
            #expect(out.contains("triage.variants: null -> "), "\(out)")
            #expect(out.contains("triage.guard: null -> "), "\(out)")
            let (getCode, got) = try await SluiceProcess.run(["flags", "get", "triage.guard", "--json"] + admin, directory: dir)
            #expect(getCode == 0, "\(got)")
            let spec = try JSON.parse(got.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(spec["max_error_rate"] == 0.5 && spec["min_calls"] == 10 && spec["canary"] == "v4" && spec["rollback"] == .null, "\(got)")
            #expect(spec["since"]?.stringValue != nil)

            // A guard needs a rollout to watch.
            let (refused, why) = try await SluiceProcess.run(["flags", "set", "triage.model=smart", "--guard", "max_error_rate=0.1"] + admin, directory: dir)
            #expect(refused != 0 && why.contains("--guard watches a rollout"), "\(why)")

            // Calls without a user are split at random: both arms serve.
            let client = NodeClient.make()
            defer { Task { try? await client.http.shutdown() } }
            var served: [String: Int] = [:]
            for _ in 0..<40 {
                let (status, version, variant) = try await Self.run(client, port: port)
                #expect(status == 200 && version == variant)
                served[variant ?? "none", default: 0] += 1
            }
            #expect(Set(served.keys) == ["v3", "v4"], "\(served)")

            // `sluice calls` shows each call's variant and prompt version.
            let deadline = ContinuousClock.now + .seconds(5)
            var table = ""
            repeat {
                table = try await SluiceProcess.run(
                    ["calls", "--config", dir + "/sluice.yaml", "--purpose", "triage", "--limit", "100"], directory: dir
                ).1
                if table.split(separator: "\n").count > 40 { break }
                try await Task.sleep(for: .milliseconds(50))
            } while ContinuousClock.now < deadline
            let lines = table.split(separator: "\n").map(String.init)
            #expect(lines.count == 41, "\(table)")
            let header = lines.first?.split(separator: " ", omittingEmptySubsequences: true).map(String.init) ?? []
            #expect(header.starts(with: ["CALL_ID", "CREATED", "PURPOSE", "VARIANT", "PROMPT_VERSION", "MODEL"]), "\(header)")
            for line in lines.dropFirst() {
                let cells = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                #expect(cells.count > 4 && ["v3", "v4"].contains(cells[3]) && cells[3] == cells[4], "\(line)")
            }
        }
    }
}
