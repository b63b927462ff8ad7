import Foundation
import SluiceCore

/// A saved eval run to compare later runs against (`--save-baseline FILE`,
/// `--baseline FILE`): per variant × model, the pass rate, the mean tokens and
/// the mean cost of one run. A JSON file meant to live in git.
///
/// ```swift
/// try EvalBaseline(report: report).write(to: "evals/triage.baseline.json")
/// let cmp = try EvalBaseline.load(path: "evals/triage.baseline.json")
///     .compare(report, maxPassDrop: 0, maxCostIncrease: 10)
/// if !cmp.regressions.isEmpty { /* exit 1 */ }
/// ```
public struct EvalBaseline: Sendable {
    /// One variant × model's saved figures.
    public struct Row: Sendable, Equatable {
        /// The variant.
        public var variant: String
        /// The model.
        public var model: String
        /// The prompt version the variant rendered then.
        public var promptVersion: String?
        /// Runs (cases × repeat).
        public var runs: Int
        /// Runs that passed, 0…1.
        public var passRate: Double
        /// Mean input tokens of answered runs.
        public var meanInputTokens: Double
        /// Mean output tokens of answered runs.
        public var meanOutputTokens: Double
        /// The mean cost of one run; `nil` when unpriced.
        public var costPerCaseUSD: Double?
    }

    /// The file format's version.
    public static let formatVersion = 1
    /// The suite's name.
    public var suite: String
    /// When it was saved (ISO 8601).
    public var createdAt: String
    /// The rows.
    public var rows: [Row]

    /// The baseline of `report`.
    public init(report: EvalReport, at date: Date = Date()) {
        suite = report.suite
        createdAt = Timestamp.iso8601(date)
        rows = report.rows.map {
            Row(
                variant: $0.variant, model: $0.model, promptVersion: $0.promptVersion, runs: $0.runs, passRate: $0.passRate,
                meanInputTokens: $0.meanInputTokens, meanOutputTokens: $0.meanOutputTokens, costPerCaseUSD: $0.costPerCaseUSD)
        }
    }

    /// The file's JSON.
    public var json: JSON {
        [
            "version": .int(Self.formatVersion), "suite": .string(suite), "created_at": .string(createdAt),
            "rows": .array(
                rows.map {
                    [
                        "variant": .string($0.variant), "model": .string($0.model), "prompt_version": $0.promptVersion.map(JSON.string) ?? .null,
                        "runs": .int($0.runs), "pass_rate": EvalStats.number($0.passRate, places: Self.ratePlaces),
                        "mean_input_tokens": EvalStats.number($0.meanInputTokens, places: Self.tokenPlaces),
                        "mean_output_tokens": EvalStats.number($0.meanOutputTokens, places: Self.tokenPlaces),
                        "cost_per_case_usd": EvalStats.number($0.costPerCaseUSD, places: Self.costPlaces),
                    ]
                }),
        ]
    }

    /// Writes the file (pretty enough for a diff: one row per line).
    public func write(to path: String) throws {
        var text = "{\"version\": \(Self.formatVersion), \"suite\": \(JSON.string(suite).jsonString), \"created_at\": \"\(createdAt)\", \"rows\": [\n"
        text += (json["rows"]?.arrayValue ?? []).map { "  " + $0.jsonString }.joined(separator: ",\n")
        text += "\n]}\n"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// Decimals the file keeps: pass rates, mean tokens, USD.
    static let ratePlaces = 6
    static let tokenPlaces = 4
    static let costPlaces = 12

    static func rounded(_ v: Double, _ places: Int) -> Double {
        let scale = pow(10, Double(places))
        return (v * scale).rounded() / scale
    }

    /// Reads a baseline file; the error says what is wrong with it.
    public static func load(path: String) throws(EvalError) -> EvalBaseline {
        guard let data = FileManager.default.contents(atPath: path) else { throw EvalError("cannot read baseline '\(path)'") }
        guard let json = try? JSON.parse(Array(data)), let obj = json.objectValue else {
            throw EvalError("baseline '\(path)' is not a JSON object")
        }
        guard obj["version"]?.intValue == formatVersion, let list = obj["rows"]?.arrayValue else {
            throw EvalError("baseline '\(path)' is not a version \(formatVersion) eval baseline (write one with --save-baseline)")
        }
        var rows: [Row] = []
        for (i, r) in list.enumerated() {
            guard let variant = r["variant"]?.stringValue, let model = r["model"]?.stringValue, let rate = r["pass_rate"]?.doubleValue else {
                throw EvalError("baseline '\(path)': rows[\(i)] needs variant, model and pass_rate")
            }
            rows.append(
                Row(
                    variant: variant, model: model, promptVersion: r["prompt_version"]?.stringValue, runs: r["runs"]?.intValue ?? 0,
                    passRate: rate, meanInputTokens: r["mean_input_tokens"]?.doubleValue ?? 0,
                    meanOutputTokens: r["mean_output_tokens"]?.doubleValue ?? 0, costPerCaseUSD: r["cost_per_case_usd"]?.doubleValue))
        }
        return EvalBaseline(suite: obj["suite"]?.stringValue ?? "", createdAt: obj["created_at"]?.stringValue ?? "", rows: rows)
    }

    init(suite: String, createdAt: String, rows: [Row]) {
        self.suite = suite
        self.createdAt = createdAt
        self.rows = rows
    }

    /// Compares `report` with this baseline. A row regresses when its pass rate drops
    /// by more than `maxPassDrop` percentage points, or its mean input tokens, mean
    /// output tokens or mean cost per run grow by more than `maxCostIncrease` percent.
    /// Rows only one side has are noted, not failed.
    public func compare(_ report: EvalReport, maxPassDrop: Double, maxCostIncrease: Double) -> EvalComparison {
        var out = EvalComparison()
        for row in report.rows {
            let cell = "\(row.variant) × \(row.model)"
            guard let base = rows.first(where: { $0.variant == row.variant && $0.model == row.model }) else {
                out.notes.append("\(cell): not in the baseline (nothing to compare)")
                continue
            }
            out.compared += 1
            if let was = base.promptVersion, was != row.promptVersion {
                out.notes.append("\(cell): prompt version \(was) in the baseline, \(row.promptVersion) now")
            }
            // Compared at the precision the file keeps, so that a run compared with its own baseline is equal.
            let now = Self.rounded(row.passRate, Self.ratePlaces)
            let drop = (Self.rounded(base.passRate, Self.ratePlaces) - now) * 100
            out.deltas.append(.init(cell: cell, metric: "pass_rate", baseline: base.passRate, current: now, change: -drop))
            if drop > maxPassDrop + 1e-9 {
                out.regressions.append(
                    "\(cell): pass rate fell from \(EvalFormat.percent(base.passRate)) to \(EvalFormat.percent(row.passRate)) "
                        + "(−\(EvalFormat.points(drop)) points; --max-pass-drop \(EvalFormat.points(maxPassDrop)))")
            }
            let growth: [(String, String, Double?, Double?, Int)] = [
                ("mean_input_tokens", "mean input tokens", base.meanInputTokens, row.meanInputTokens, Self.tokenPlaces),
                ("mean_output_tokens", "mean output tokens", base.meanOutputTokens, row.meanOutputTokens, Self.tokenPlaces),
                ("cost_per_case_usd", "cost per run", base.costPerCaseUSD, row.costPerCaseUSD, Self.costPlaces),
            ]
            for (metric, label, saved, current, places) in growth {
                guard let saved, let current else { continue }
                let old = Self.rounded(saved, places)
                let new = Self.rounded(current, places)
                let change = old > 0 ? (new - old) / old * 100 : (new > 0 ? Double.infinity : 0)
                out.deltas.append(.init(cell: cell, metric: metric, baseline: old, current: new, change: change))
                if change > maxCostIncrease + 1e-9 {
                    let shown = metric == "cost_per_case_usd" ? { (v: Double) in "$" + Decimals.format(v, places: 8, trim: true) } : { (v: Double) in Decimals.format(v, places: 1, trim: true) }
                    out.regressions.append(
                        "\(cell): \(label) grew from \(shown(old)) to \(shown(new)) "
                            + "(+\(change.isFinite ? EvalFormat.points(change) : "∞")%; --max-cost-increase \(EvalFormat.points(maxCostIncrease))%)")
                }
            }
        }
        for base in rows where !report.rows.contains(where: { $0.variant == base.variant && $0.model == base.model }) {
            out.notes.append("\(base.variant) × \(base.model): in the baseline but not in this run")
        }
        return out
    }
}

/// What a comparison with a baseline found.
public struct EvalComparison: Sendable {
    /// One metric of one row, before and after.
    public struct Delta: Sendable, Equatable {
        /// `v3 × fast`.
        public var cell: String
        /// `pass_rate`, `mean_input_tokens`, `mean_output_tokens` or `cost_per_case_usd`.
        public var metric: String
        /// The baseline's value.
        public var baseline: Double
        /// This run's value.
        public var current: Double
        /// Percentage points for the pass rate, percent for the rest.
        public var change: Double
    }

    /// Rows found on both sides.
    public var compared = 0
    /// Every compared metric.
    public var deltas: [Delta] = []
    /// What regressed, one sentence each; empty when nothing did.
    public var regressions: [String] = []
    /// Rows only one side has.
    public var notes: [String] = []

    /// The comparison as JSON.
    public var json: JSON {
        [
            "compared": .int(compared), "regressions": .array(regressions.map(JSON.string)), "notes": .array(notes.map(JSON.string)),
            "deltas": .array(
                deltas.map {
                    [
                        "cell": .string($0.cell), "metric": .string($0.metric), "baseline": EvalStats.number($0.baseline, places: 8),
                        "current": EvalStats.number($0.current, places: 8), "change": EvalStats.number($0.change, places: 2),
                    ]
                }),
        ]
    }
}

/// Number formats of eval output.
public enum EvalFormat {
    /// `0.975` → `97.5%`.
    public static func percent(_ rate: Double) -> String { Decimals.format(rate * 100, places: 1, trim: false) + "%" }
    /// `12.345` → `12.3`.
    public static func points(_ v: Double) -> String { Decimals.format(v, places: 1, trim: true) }
}
