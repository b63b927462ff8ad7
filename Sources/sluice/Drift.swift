import ArgumentParser
import Foundation
import SluiceCore
import SluiceEngine

struct DriftCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drift", abstract: "Compare a purpose's recent calls with its baseline.", subcommands: [DriftReportCommand.self])
}

struct DriftReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "The last window (default 7d) against the 30 days before it; significant shifts are flagged.")

    @OptionGroup var options: ConfigOption
    @OptionGroup var admin: AdminOptions
    @Argument(help: "The purpose.") var purpose: String
    @Option(help: "The recent window.") var window = "7d"
    @Option(help: "The baseline before it.") var baseline = "30d"
    @Flag(help: "Print JSON instead of text.") var json = false

    func run() async throws {
        let config = try loadConfigOrExit(options.config)
        let client = AdminClient(options: admin, config: config)
        let path = "/admin/drift/\(purpose)?window=\(window)&baseline=\(baseline)"
        let r = try client.expectOK(await client.send(.GET, path))
        if json { return print(r.jsonString) }
        func v(_ x: JSON?) -> String { x.map { $0.isNull ? "-" : $0.jsonString } ?? "-" }
        print("drift of \(purpose): last \(window) (\(v(r["current"]?["calls"])) calls) vs the \(baseline) before (\(v(r["baseline"]?["calls"])) calls)")
        let rows = [
            "error_rate", "schema_valid_rate", "refusal_rate", "mean_output_tokens", "p95_output_tokens", "p50_latency_ms", "p95_latency_ms", "mean_feedback",
            "negative_feedback_rate", "mean_sentiment", "negative_sentiment_rate", "mean_input_chars", "p95_input_chars", "tool_call_rate",
        ]
        print("metric".padding(toLength: 25, withPad: " ", startingAt: 0) + "baseline".padding(toLength: 14, withPad: " ", startingAt: 0) + "current")
        for m in rows {
            print(m.padding(toLength: 25, withPad: " ", startingAt: 0) + v(r["baseline"]?[m]).padding(toLength: 14, withPad: " ", startingAt: 0) + v(r["current"]?[m]))
        }
        if let score = r["latest_eval_score"]?.doubleValue {
            print("latest eval score: " + Decimals.format(score * 100, places: 1, trim: true) + "% of cases passed")
        }
        let newModels = r["new_models"]?.arrayValue?.compactMap(\.stringValue) ?? []
        if !newModels.isEmpty { print("new model versions (not seen in the baseline): " + newModels.joined(separator: ", ")) }
        let flagged = r["flagged"]?.arrayValue ?? []
        print(flagged.isEmpty ? "no significant shift" : "FLAGGED:")
        for f in flagged { print("  " + (f.stringValue ?? "")) }
    }
}
