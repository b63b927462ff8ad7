import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// Flags on two nodes sharing PostgreSQL: a change made on one (with the CLI)
/// is served by the other within a second, without a restart.
@Suite(.serialized) struct PostgresFlagTests {
    @Test(.enabled(if: StoreBackend.postgresURL != nil || PostgresProcessTests.ci))
    func aFlagFlipReachesTheOtherNodeWithinOneSecond() async throws {
        let extra = """
            prompts_dir: prompts
            purposes:
              triage: { prompt: triage, prompt_version: v3, model: fast }
            """
        try await TwoNodes.with(extra: extra, reply: .text("bug"), prepare: { dir in _ = try FlagTests.versionedPrompts(in: dir + "/prompts") }) { n in
            func served(_ port: Int) async throws -> String? {
                let r = try await n.client.send(
                    .POST, port: port, "/v1/purposes/triage/run", body: #"{"variables":{"ticket":"t"},"user":"u1"}"#, key: n.key)
                #expect(r.status == 200, "\(r.json)")
                return r.json["prompt_version"]?.stringValue
            }
            #expect(try await served(n.ports[1]) == "v3")
            let (code, out) = try await SluiceProcess.run(
                ["flags", "set", "triage.variants=v4:100", "--url", "http://127.0.0.1:\(n.ports[0])", "--admin-key", n.adminKey,
                 "--actor", "oncall-bob", "--reason", "v4 is better"],
                directory: NSTemporaryDirectory())
            #expect(code == 0, "\(out)")
            #expect(out.contains("triage.variants: null -> {\"v4\":100}"), "\(out)")
            let flipped = ContinuousClock.now
            var seen: String?
            while ContinuousClock.now - flipped < .seconds(1) {
                seen = try await served(n.ports[1])
                if seen == "v4" { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(seen == "v4", "node 2 still serves \(seen ?? "nothing") a second after the flip")

            let (getCode, got) = try await SluiceProcess.run(
                ["flags", "get", "triage.variants", "--json", "--url", "http://127.0.0.1:\(n.ports[1])", "--admin-key", n.adminKey],
                directory: NSTemporaryDirectory())
            #expect(getCode == 0)
            #expect((try? JSON.parse(got.trimmingCharacters(in: .whitespacesAndNewlines))) == ["v4": 100.0], "\(got)")
            let audit = try await n.client.send(.GET, port: n.ports[1], "/admin/audit", key: n.adminKey)
            let entry = audit.json["data"]?.arrayValue?.first
            #expect(entry?["actor"] == "oncall-bob" && entry?["target"] == "flag:triage.variants" && entry?["reason"] == "v4 is better")
        }
    }
}
