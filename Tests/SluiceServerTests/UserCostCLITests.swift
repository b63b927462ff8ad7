import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// `sluice costs --by user`, run as the real binary against a store seeded here: a table per end
/// user with spend, calls and p50/p95/p99 latency, `--sort p95`, `--limit`, and `--json`.
@Suite struct UserCostCLITests {
    /// Ten calls by alice (10…100 ms, $0.01 each) and four by bob (1…4 s, $0.001 each), in the last hour.
    func seed(_ dir: String) async throws {
        let store = try SQLiteStore(path: dir + "/sluice.db")
        try await store.migrate()
        let now = Date().addingTimeInterval(-3_600)
        var records: [CallRecord] = []
        for i in 0..<14 {
            var r = CallRecord(callID: IDs.callID(at: now.addingTimeInterval(Double(i))), createdAt: now.addingTimeInterval(Double(i)), purpose: "triage", model: "fast")
            let alice = i < 10
            r.user = alice ? "alice" : "bob"
            r.keyName = "app"
            r.latencyMs = alice ? Double(i + 1) * 10 : Double(i - 9) * 1_000
            r.costUSD = alice ? 0.01 : 0.001
            r.usage = Usage(inputTokens: 100, outputTokens: 10)
            records.append(r)
        }
        try await store.insert(records)
        try await store.close()
    }

    func config(_ dir: String) throws -> String {
        let path = dir + "/sluice.yaml"
        try "storage: { url: \"sqlite://\(dir)/sluice.db\" }\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func costsByUserPrintsSpendCallsAndPercentiles() async throws {
        let dir = try makeTempDir()
        try await seed(dir)
        let config = try config(dir)

        let (status, text) = try await SluiceProcess.run(["costs", "--config", config, "--by", "user"], directory: dir)
        #expect(status == 0, "\(text)")
        let lines = text.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        let header = try #require(lines.first { $0.first == "USER" }, "\(text)")
        #expect(header == ["USER", "COST_USD", "SAVED_USD", "CALLS", "LOGGED", "P50_MS", "P95_MS", "P99_MS", "INPUT_TOKENS", "OUTPUT_TOKENS"])
        let alice = try #require(lines.first { $0.first == "alice" }, "\(text)")
        let bob = try #require(lines.first { $0.first == "bob" }, "\(text)")
        #expect(alice == ["alice", "0.100000", "0.000000", "10", "10", "50.0", "100.0", "100.0", "1000", "100"], "\(text)")
        #expect(bob == ["bob", "0.004000", "0.000000", "4", "4", "2000.0", "4000.0", "4000.0", "400", "40"], "\(text)")
        // Highest spend first by default.
        #expect(lines.firstIndex(of: alice)! < lines.firstIndex(of: bob)!)
        #expect(text.contains("SHOWING 2 OF 2"), "\(text)")

        // --sort p95 --limit 1: only the slowest.
        let (s2, slow) = try await SluiceProcess.run(["costs", "--config", config, "--by", "user", "--sort", "p95", "--limit", "1"], directory: dir)
        #expect(s2 == 0, "\(slow)")
        let slowRows = slow.split(separator: "\n").filter { $0.hasPrefix("alice") || $0.hasPrefix("bob") }
        #expect(slowRows.count == 1 && slowRows.first?.hasPrefix("bob") == true && slow.contains("SHOWING 1 OF 2"), "\(slow)")

        // --json: the cost-summary JSON with the same groups.
        let (s3, out) = try await SluiceProcess.run(["costs", "--config", config, "--by", "user", "--json"], directory: dir)
        #expect(s3 == 0, "\(out)")
        let json = try JSON.parse(String(out.split(separator: "\n").last { $0.hasPrefix("{") } ?? ""))
        let groups = json["groups"]?.arrayValue ?? []
        #expect(json["by"] == "user" && groups.count == 2, "\(out)")
        let a = groups.first { $0["user"] == "alice" }
        #expect(a?["p50_ms"] == 50 && a?["p95_ms"] == 100 && a?["p99_ms"] == 100 && a?["calls"] == 10 && a?["logged_calls"] == 10, "\(out)")

        // A bad --sort or --limit is a usage error naming the option and its values.
        let (s4, bad) = try await SluiceProcess.run(["costs", "--config", config, "--by", "user", "--sort", "slow"], directory: dir)
        #expect(s4 != 0 && bad.contains("--sort must be one of cost, p95"), "\(bad)")
        let (s5, bad2) = try await SluiceProcess.run(["costs", "--config", config, "--by", "user", "--limit", "0"], directory: dir)
        #expect(s5 != 0 && bad2.contains("--limit must be from 1 to 1000"), "\(bad2)")
    }
}
