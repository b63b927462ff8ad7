import Foundation
import SluiceCore
import SluiceEngine
import SluiceTesting
import Testing

/// A reload swaps the config and the prompt library as one version.
@Suite struct ReloadTests {
    /// Two prompt sets that share nothing: A has only triage v3, B only triage v4, so a
    /// call that paired one's config with the other's prompts would find no prompt.
    static func write(config path: String, set: String, root: String, upstream: FakeUpstream) throws {
        let version = set == "A" ? "v3" : "v4"
        try FlagTests.config(upstream, prompts: root + "/" + set, triage: "{ prompt: triage, prompt_version: \(version), model: fast }")
            .appending("\nstorage: { url: \"sqlite://\(root)/sluice.db\" }\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
    }

    static func prompts(root: String) throws {
        for (set, version) in [("A", "v3"), ("B", "v4")] {
            let dir = root + "/\(set)/triage"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try """
                name: triage
                version: \(version)
                messages:
                  - { role: user, content: "Ticket: {{ticket}}" }
                """.write(toFile: dir + "/\(version).prompt.yaml", atomically: true, encoding: .utf8)
        }
    }

    @Test func readersNeverSeeNewPromptsWithTheOldConfig() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("ok"))
        let root = try makeTempDir()
        try Self.prompts(root: root)
        let path = root + "/sluice.yaml"
        try Self.write(config: path, set: "A", root: root, upstream: upstream)
        try await Harness.with(try String(contentsOfFile: path, encoding: .utf8), reloadFrom: path) { h in
            let gateway = h.gateway
            let live = gateway.live
            let port = h.port
            let client = NodeClient.make()
            defer { Task { try? await client.http.shutdown() } }
            let done = Locked(false)
            let reloads = 60
            let (mixed, failed) = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                group.addTask {
                    for i in 1...reloads {
                        try Self.write(config: path, set: i % 2 == 0 ? "A" : "B", root: root, upstream: upstream)
                        _ = try gateway.reload()
                    }
                    done.withLock { $0 = true }
                    return (0, 0)
                }
                for _ in 0..<3 {
                    group.addTask {
                        var mixed = 0
                        while !done.withLock({ $0 }) {
                            let snapshot = live.snapshot
                            if snapshot.prompts.directory != snapshot.base.resolvedPromptsDir { mixed += 1 }
                            let (purposes, library) = live.purposesAndPrompts
                            if library.prompt("triage", version: purposes["triage"]?.promptVersion) == nil { mixed += 1 }
                            await Task.yield()
                        }
                        return (mixed, 0)
                    }
                }
                group.addTask {
                    var failed = 0
                    while !done.withLock({ $0 }) {
                        let r = try await client.send(.POST, port: port, "/v1/purposes/triage/run", body: #"{"variables":{"ticket":"t"}}"#)
                        if r.status != 200 { failed += 1 }
                    }
                    return (0, failed)
                }
                return try await group.reduce((0, 0)) { ($0.0 + $1.0, $0.1 + $1.1) }
            }
            #expect(mixed == 0, "\(mixed) reads paired a config with another version's prompts")
            #expect(failed == 0, "\(failed) runs failed during reloads")
            #expect(live.snapshot.base.purposes["triage"]?.promptVersion == "v3")
            #expect(live.prompts.directory == root + "/A")
        }
    }
}
