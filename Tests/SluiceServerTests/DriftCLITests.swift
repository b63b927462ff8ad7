import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// `sluice drift report` and the unpinned-model warning of `sluice check-config`, run as the real executable.
@Suite(.serialized)
struct DriftCLITests {
    static let adminKey = "admin-secret-drift-cli"

    /// 30 days at 99% valid answered by one version, then 7 days at 80% answered by a new one,
    /// and a stored eval run: text and `--json` both show the shift, the new version and the score.
    @Test func driftReportShowsTheSeededShiftAsTextAndJSON() async throws {
        let clock = ManualClock(DriftTests.now)
        try await Harness.with("auth: { admin_key: \(Self.adminKey) }\n", clock: clock) { h in
            var seeded: [CallRecord] = []
            for i in 0..<300 {
                seeded.append(DriftTests.call(i, daysAgo: 8 + Double(i) / 10.5, valid: i % 100 != 0, model: "gpt-4o-2024-05-13"))
            }
            for i in 0..<100 { seeded.append(DriftTests.call(1000 + i, daysAgo: (Double(i) + 0.5) / 15, valid: i % 5 != 0)) }
            try await h.gateway.store.insert(seeded)
            try await h.gateway.store.addEvalScores([
                EvalScore(
                    id: IDs.make("evs", at: DriftTests.now), suite: "triage-golden", purpose: "triage", promptVersion: "v3", model: "fast",
                    answeredModel: "gpt-4o-2024-08-06", cases: 4, passRate: 0.75, judgeMean: nil, costUSD: 0, at: DriftTests.now)
            ])
            let dir = try makeTempDir()
            let args = ["drift", "report", "triage", "--url", h.base, "--admin-key", Self.adminKey]

            let (status, text) = try await SluiceProcess.run(args, directory: dir)
            #expect(status == 0, "\(text)")
            let lines = text.split(separator: "\n").map(String.init)
            #expect(lines.contains("drift of triage: last 7d (100 calls) vs the 30d before (300 calls)"), "\(text)")
            #expect(lines.contains { $0.hasPrefix("schema_valid_rate") && $0.contains("0.99") && $0.hasSuffix("0.8") }, "\(text)")
            #expect(lines.contains("latest eval score: 75% of cases passed"), "\(text)")
            #expect(lines.contains("new model versions (not seen in the baseline): gpt-4o-2024-08-06"), "\(text)")
            #expect(lines.contains("FLAGGED:"), "\(text)")
            #expect(lines.contains("  schema_valid_rate 99% → 80% (worse)"), "\(text)")
            #expect(lines.contains { $0.hasPrefix("  provider drift: new model version gpt-4o-2024-08-06") }, "\(text)")

            let (jsonStatus, out) = try await SluiceProcess.run(args + ["--json"], directory: dir)
            #expect(jsonStatus == 0, "\(out)")
            let json = try JSON.parse(String(out.split(separator: "\n").last { $0.hasPrefix("{") } ?? ""))
            #expect(json["purpose"] == "triage")
            #expect(json["current"]?["schema_valid_rate"] == 0.8 && json["baseline"]?["schema_valid_rate"] == 0.99)
            #expect(json["latest_eval_score"] == 0.75)
            #expect(json["new_models"] == ["gpt-4o-2024-08-06"])
            let flagged = json["flagged"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(flagged.count == 2 && flagged.contains("schema_valid_rate 99% → 80% (worse)"), "\(flagged)")

            // A steady purpose: no eval score and no new version, so neither line is printed.
            let (_, steady) = try await SluiceProcess.run(["drift", "report", "other", "--url", h.base, "--admin-key", Self.adminKey], directory: dir)
            #expect(steady.contains("no significant shift") && !steady.contains("latest eval score") && !steady.contains("new model versions"), "\(steady)")
        }
    }

    /// `check-config` warns about a target that names a moving alias, and not about a pinned one.
    @Test func checkConfigPrintsTheUnpinnedModelWarning() async throws {
        let dir = try makeTempDir()
        try """
            providers:
              openai: { type: openai, api_key: sk-test-unpinned }
            models:
              fast: { targets: [ { provider: openai, model: gpt-4o-mini } ] }
              pinned: { targets: [ { provider: openai, model: gpt-4o-2024-08-06 } ] }
            storage: { url: "sqlite://\(dir)/sluice.db" }
            """.write(toFile: dir + "/sluice.yaml", atomically: true, encoding: .utf8)
        let (status, out) = try await SluiceProcess.run(["check-config", "--config", dir + "/sluice.yaml"], directory: dir)
        #expect(status == 0, "\(out)")
        let warnings = out.split(separator: "\n").filter { $0.hasPrefix("warning:") && $0.contains("unpinned") }
        #expect(warnings.count == 1, "\(out)")
        #expect(warnings.first?.contains("models.fast: 'openai/gpt-4o-mini' is an unpinned alias") == true, "\(out)")
        #expect(!out.contains("gpt-4o-2024-08-06' is an unpinned"), "\(out)")
        #expect(out.contains("config OK"), "\(out)")
    }
}
