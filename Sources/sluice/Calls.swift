import ArgumentParser
import Foundation
import SluiceCore
import SluiceEngine
import SluiceStore

struct Calls: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List recent calls from the call log.")

    @OptionGroup var options: ConfigOption
    @Option(help: "Only this purpose.") var purpose: String?
    @Option(help: "Only this requested model.") var model: String?
    @Option(help: "Only this status (ok, error, stream_interrupted).") var status: String?
    @Option(name: .customLong("run-id"), help: "Only this run.") var runID: String?
    @Option(help: "Only calls since a duration (30m, 1h, 7d) or ISO 8601 time.") var since: String?
    @Option(help: "How many calls (1-1000).") var limit = 20
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() async throws {
        let config = try loadConfigOrExit(options.config)
        var filter = CallFilter(purpose: purpose, model: model, status: status, runID: runID, limit: limit)
        if let since {
            guard let d = SinceParser.parse(since, now: Date()) else {
                throw ValidationError("--since must be a duration such as 30m, 1h, 7d or an ISO 8601 time")
            }
            filter.since = d
        }
        guard (1...1000).contains(limit) else { throw ValidationError("--limit must be from 1 to 1000") }
        let store = try await openStore(config, logger: .init(label: "sluice"))
        let rows = try await store.list(filter)
        try await store.close()
        if json {
            print(JSON.object(["object": "list", "data": .array(rows.map(\.json))]).jsonString)
            return
        }
        print(CallTable.render(rows))
    }
}

/// The plain-text table `sluice calls` prints. When any listed call ran a prompt or a
/// variant, VARIANT and PROMPT_VERSION columns follow PURPOSE (`-` where a call has none).
enum CallTable {
    static func render(_ rows: [CallRecord]) -> String {
        let experiments = rows.contains { $0.variant != nil || $0.promptVersion != nil }
        let header =
            ["CALL_ID", "CREATED", "PURPOSE"] + (experiments ? ["VARIANT", "PROMPT_VERSION"] : [])
            + ["MODEL", "PROVIDER", "STATUS", "TOKENS", "COST_USD", "LATENCY_MS"]
        var table = [header]
        for r in rows {
            let experiment = experiments ? [r.variant ?? "-", r.promptVersion ?? "-"] : []
            table.append(
                [r.callID, CallRecord.iso8601(r.createdAt), r.purpose] + experiment + [
                    r.model, r.provider ?? "-",
                    r.status == .ok ? "ok" : "\(r.status.rawValue) \(r.httpStatus)",
                    "\(r.usage.inputTokens)/\(r.usage.outputTokens)",
                    r.costUSD.map { String(format: "%.6f", $0) } ?? "null",
                    String(format: "%.1f", r.latencyMs),
                ])
        }
        var widths = Array(repeating: 0, count: header.count)
        for row in table { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
        var out = table.map { row in
            row.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        if rows.isEmpty { out.append("(no calls)") }
        return out.joined(separator: "\n")
    }
}
