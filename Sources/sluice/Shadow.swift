import ArgumentParser
import Foundation
import SluiceCore
import SluiceEngine
import SluiceStore

struct ShadowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shadow", abstract: "Shadow runs: compare a purpose's candidate with its live answers.",
        subcommands: [Report.self])

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Agreement, tokens, latency, cost and feedback of a purpose's shadow runs beside its live calls.",
            discussion: """
                Reads the store of --config (the same figures as GET /admin/shadow/PURPOSE).
                Examples:
                  sluice shadow report triage
                  sluice shadow report triage --since 24h --limit 5 --json
                """)

        @OptionGroup var options: ConfigOption
        @Argument(help: "The live purpose (its shadow runs are PURPOSE:shadow).") var purpose: String
        @Option(help: "Since a duration (24h, 7d) or an ISO 8601 time.") var since = "7d"
        @Option(help: "Disagreements to list (0-1000).") var limit = 10
        @Flag(help: "Print the JSON of GET /admin/shadow/PURPOSE instead of tables.") var json = false

        func run() async throws {
            let config = try loadConfigOrExit(options.config)
            let now = Date()
            guard let from = SinceParser.parse(since, now: now) else { throw ValidationError("--since must be a duration such as 24h or 7d") }
            guard (0...1000).contains(limit) else { throw ValidationError("--limit must be from 0 to 1000") }
            guard config.purposes[purpose] != nil else {
                throw CLIError("unknown purpose '\(purpose)'; configured purposes: \(config.purposes.keys.sorted().joined(separator: ", "))")
            }
            let store = try await openStore(config, logger: .init(label: "sluice"))
            let report: JSON
            do {
                report = try await ShadowReport.build(
                    store: store, purpose: purpose, since: from, until: now.addingTimeInterval(1),
                    shadow: config.purposes[purpose]?.shadow, counters: nil, outputsStored: config.storage.logBodies == .full,
                    limit: limit)
                try await store.close()
            } catch {
                try? await store.close()
                throw error
            }
            print(json ? report.jsonString : ShadowTable.render(report), terminator: json ? "\n" : "")
        }
    }
}

/// The tables `sluice shadow report` prints.
enum ShadowTable {
    static func num(_ v: JSON?, _ format: String = "%.3f") -> String { v?.doubleValue.map { String(format: format, $0) } ?? "-" }

    static func render(_ r: JSON) -> String {
        var out = "SHADOW \(r["purpose"]?.stringValue ?? "") (runs as \(r["shadow_purpose"]?.stringValue ?? ""))  "
        out += "since \(r["since"]?.stringValue ?? "")  pairs \(r["pairs"]?.intValue ?? 0)"
        if r["truncated"]?.boolValue == true { out += " (newest \(ShadowReport.maxPairs) read)" }
        out += "\n"
        if let c = r["config"]?.objectValue {
            out += "config: " + c.map { "\($0.key) \($0.value.stringValue ?? $0.value.jsonString)" }.joined(separator: ", ") + "\n"
        } else {
            out += "config: no shadow configured now\n"
        }
        let a = r["agreement"] ?? .null
        out += "\nAGREEMENT  compared \(a["compared"]?.intValue ?? 0)  rate \(num(a["rate"]))  exact \(num(a["exact_rate"]))"
        if let j = a["json"], !j.isNull { out += "  json objects \(j["pairs"]?.intValue ?? 0), whole \(num(j["whole_rate"]))" }
        out += "\n"
        if let note = a["note"]?.stringValue { out += "note: \(note)\n" }
        if let fields = a["json"]?["fields"]?.objectValue, fields.count > 0 {
            var rows = [["FIELD", "AGREEMENT"]]
            for (k, v) in fields { rows.append([k, num(v)]) }
            out += "\n" + Costs.table(rows)
        }
        var sides = [["SIDE", "CALLS", "ERRORS", "SCHEMA_VALID", "IN_TOKENS", "OUT_TOKENS", "P50_MS", "P95_MS", "COST/CALL_USD", "FEEDBACK_AGREE"]]
        for name in ["primary", "shadow"] {
            let s = r[name] ?? .null
            let fb = s["feedback_agreement"] ?? .null
            sides.append([
                name, String(s["calls"]?.intValue ?? 0), String(s["errors"]?.intValue ?? 0), num(s["schema_valid_rate"]),
                num(s["mean_input_tokens"], "%.1f"), num(s["mean_output_tokens"], "%.1f"), num(s["latency_ms"]?["p50"], "%.1f"),
                num(s["latency_ms"]?["p95"], "%.1f"), num(s["cost_per_call_usd"], "%.8f"),
                fb["rate"].map { $0.isNull ? "-" : "\(num($0)) of \(fb["with_action"]?.intValue ?? 0)" } ?? "-",
            ])
        }
        out += "\n" + Costs.table(sides)
        let list = r["disagreements"]?.arrayValue ?? []
        out += "\nDISAGREEMENTS (newest first, \(list.count) listed)\n"
        if list.isEmpty { return out + "(none)\n" }
        var rows = [["PRIMARY_CALL", "PRIMARY_OUTPUT", "SHADOW_OUTPUT"]]
        for d in list {
            rows.append([d["primary_call_id"]?.stringValue ?? "", short(d["primary_output"]), short(d["shadow_output"])])
        }
        return out + Costs.table(rows)
    }

    /// One line of at most 48 characters.
    static func short(_ v: JSON?) -> String {
        let text = (v?.stringValue ?? "-").replacingOccurrences(of: "\n", with: " ")
        return text.count <= 48 ? text : String(text.prefix(47)) + "…"
    }
}
