import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// Two `sluice serve` processes on one PostgreSQL share the response cache.
@Suite(.serialized) struct PostgresCacheTests {
    @Test(.enabled(if: StoreBackend.postgresURL != nil || PostgresProcessTests.ci))
    func aCacheEntryWrittenByOneNodeHitsOnTheOther() async throws {
        let reply = FakeUpstream.Reply.text("shared label", usage: Usage(inputTokens: 100, outputTokens: 5))
        try await TwoNodes.with(
            extra: "purposes:\n  label: { prompt: label, model: fast, cache: { ttl: 1h } }", reply: reply,
            prepare: { dir in
                try FileManager.default.createDirectory(atPath: dir + "/prompts", withIntermediateDirectories: true)
                try """
                    version: v1
                    messages:
                      - { role: user, content: "Label: {{ticket}}" }
                    """.write(toFile: dir + "/prompts/label.prompt.yaml", atomically: true, encoding: .utf8)
            }
        ) { n in
            let (client, ports, key, upstream) = (n.client, n.ports, n.key, n.upstream)
            let body = #"{"variables":{"ticket":"login fails"}}"#

            let first = try await client.send(.POST, port: ports[0], "/v1/purposes/label/run", body: body, key: key)
            #expect(first.status == 200, "\(first.json)")
            #expect(first.json["cache"] == "miss")
            // The entry reaches the shared table off the request path; wait for it there.
            var stored = 0
            for _ in 0..<100 {
                let stats = try await client.send(.GET, port: ports[1], "/admin/cache", key: n.adminKey)
                stored = stats.json["by_purpose"]?.arrayValue?.first?["entries"]?.intValue ?? 0
                if stored > 0 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(stored == 1)
            let second = try await client.send(.POST, port: ports[1], "/v1/purposes/label/run", body: body, key: key)
            #expect(second.json["cache"] == "hit", "\(second.json)")
            #expect(second.json["text"] == "shared label")
            #expect(upstream.received.count == 1)

        }
    }
}
