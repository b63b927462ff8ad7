import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// Runtime keys on two nodes sharing PostgreSQL: created on one node, usable on the
/// other; revoked with the CLI on one, refused by the other within a second; rotated
/// with a grace period, after which only the new secret works.
@Suite(.serialized) struct PostgresKeyTests {
    static let chat = #"{"model":"fast","messages":[{"role":"user","content":"hi"}]}"#

    /// Polls `port` with `key` until it answers `status`; how long that took, or `nil` after `limit`.
    static func until(
        _ n: TwoNodes, port: Int, key: String, status: Int, limit: Duration = .seconds(1)
    ) async throws -> Duration? {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < limit {
            if try await n.client.send(.POST, port: port, "/v1/chat/completions", body: chat, key: key).status == status {
                return ContinuousClock.now - start
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    @Test(.enabled(if: StoreBackend.postgresURL != nil || PostgresProcessTests.ci))
    func aRevokedKeyIsRefusedOnTheOtherNodeWithinOneSecond() async throws {
        try await TwoNodes.with(extra: "", reply: .text("ok")) { n in
            let made = try await n.client.send(
                .POST, port: n.ports[0], "/admin/keys", body: #"{"name":"bot","purposes":["*"]}"#, key: n.adminKey)
            #expect(made.status == 201, "\(made.json)")
            let id = try #require(made.json["id"]?.stringValue)
            let secret = try #require(made.json["key"]?.stringValue)
            #expect(try await Self.until(n, port: n.ports[1], key: secret, status: 200) != nil, "node 2 never accepted the new key")

            let (code, out) = try await SluiceProcess.run(
                ["keys", "revoke", id, "--reason", "leaked", "--url", "http://127.0.0.1:\(n.ports[0])", "--admin-key", n.adminKey,
                 "--actor", "oncall-bob"],
                directory: NSTemporaryDirectory())
            #expect(code == 0, "\(out)")
            #expect(out.contains("revoked:"), "\(out)")
            let took = try await Self.until(n, port: n.ports[1], key: secret, status: 401)
            #expect(took != nil, "node 2 still accepts the revoked key a second after the revoke")
            let refused = try await n.client.send(.POST, port: n.ports[1], "/v1/chat/completions", body: Self.chat, key: secret)
            #expect(refused.json["error"]?["message"]?.stringValue?.contains("revoked") == true, "\(refused.json)")
            // Config keys keep working, and are listed as such.
            #expect(try await n.client.send(.POST, port: n.ports[1], "/v1/chat/completions", body: Self.chat, key: n.key).status == 200)
            let (listCode, listed) = try await SluiceProcess.run(
                ["keys", "list", "--json", "--url", "http://127.0.0.1:\(n.ports[1])", "--admin-key", n.adminKey],
                directory: NSTemporaryDirectory())
            #expect(listCode == 0)
            let rows = (try? JSON.parse(listed.trimmingCharacters(in: .whitespacesAndNewlines)))?["data"]?.arrayValue ?? []
            #expect(rows.contains { $0["source"] == "config" } && rows.contains { $0["id"]?.stringValue == id && $0["status"] == "revoked" })
            #expect(!listed.contains(secret))
            let audit = try await n.client.send(.GET, port: n.ports[1], "/admin/audit", key: n.adminKey)
            let entry = audit.json["data"]?.arrayValue?.first
            #expect(entry?["action"] == "keys.revoke" && entry?["actor"] == "oncall-bob" && entry?["reason"] == "leaked")

            // The CLI creates keys too, and prints the secret once.
            let (createCode, created) = try await SluiceProcess.run(
                ["keys", "create", "cli-bot", "--purposes", "triage,default", "--rpm", "100", "--meta", "owner=bob",
                 "--url", "http://127.0.0.1:\(n.ports[0])", "--admin-key", n.adminKey],
                directory: NSTemporaryDirectory())
            #expect(createCode == 0, "\(created)")
            let line = try #require(created.split(separator: "\n").first { $0.hasPrefix("secret (shown once") })
            let cliSecret = String(try #require(line.split(separator: " ").last))
            #expect(try await Self.until(n, port: n.ports[1], key: cliSecret, status: 200) != nil, "\(created)")
        }
    }

    @Test(.enabled(if: StoreBackend.postgresURL != nil || PostgresProcessTests.ci))
    func aRotatedKeyKeepsItsOldSecretForTheGraceOnlyOnEveryNode() async throws {
        try await TwoNodes.with(extra: "", reply: .text("ok")) { n in
            let made = try await n.client.send(.POST, port: n.ports[0], "/admin/keys", body: #"{"name":"rotor"}"#, key: n.adminKey)
            let id = try #require(made.json["id"]?.stringValue)
            let old = try #require(made.json["key"]?.stringValue)
            let (code, out) = try await SluiceProcess.run(
                ["keys", "rotate", id, "--grace", "3", "--json", "--url", "http://127.0.0.1:\(n.ports[0])", "--admin-key", n.adminKey],
                directory: NSTemporaryDirectory())
            #expect(code == 0, "\(out)")
            let new = try #require((try? JSON.parse(out.trimmingCharacters(in: .whitespacesAndNewlines)))?["key"]?.stringValue)
            #expect(try await Self.until(n, port: n.ports[1], key: new, status: 200) != nil, "node 2 never accepted the new secret")
            #expect(try await n.client.send(.POST, port: n.ports[1], "/v1/chat/completions", body: Self.chat, key: old).status == 200)
            // After the grace period only the new secret works, on both nodes.
            #expect(try await Self.until(n, port: n.ports[1], key: old, status: 401, limit: .seconds(5)) != nil)
            for port in n.ports {
                #expect(try await n.client.send(.POST, port: port, "/v1/chat/completions", body: Self.chat, key: old).status == 401)
                #expect(try await n.client.send(.POST, port: port, "/v1/chat/completions", body: Self.chat, key: new).status == 200)
            }
        }
    }
}
