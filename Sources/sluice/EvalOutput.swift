import Foundation
import SluiceCore
import SluiceEngine
import Synchronization

/// What `sluice eval run` prints: the table per variant × model, the failures,
/// flaky cases, the judges' spread, the baseline comparison and the verdict.
enum EvalTable {
    /// Failed runs listed before the rest are summed up.
    static let maxListed = 50

    static func render(
        _ report: EvalReport, suite: EvalSuite, comparison: EvalComparison?, baselinePath: String?, problems: [String],
        saved: String?, junit: String?, gated: Bool
    ) -> String {
        let variants = Set(report.rows.map(\.variant)).count
        let models = Set(report.rows.map(\.model)).count
        var out = "EVAL \(report.suite)  purpose \(report.callPurpose)  run \(report.runID ?? "-")\n"
        out += "\(plural(suite.cases.count, "case")) × \(plural(variants, "variant")) × \(plural(models, "model")) × repeat \(report.repeatCount)"
        out += " = \(plural(report.runs.count, "run"))\n\n"
        var rows = [["VARIANT", "PROMPT", "MODEL", "CASES", "RUNS", "PASS_RATE", "IN_TOKENS", "OUT_TOKENS", "COST_USD", "COST/RUN_USD", "P50_MS", "P95_MS", "JUDGE"]]
        for r in report.rows {
            rows.append([
                r.variant, r.promptVersion, r.model, String(r.cases), String(r.runs), EvalFormat.percent(r.passRate),
                r.answered == 0 ? "-" : num(r.meanInputTokens, 1), r.answered == 0 ? "-" : num(r.meanOutputTokens, 1), money(r.costUSD),
                money(r.costPerCaseUSD),
                r.p50LatencyMs.map { num($0, 1) } ?? "-", r.p95LatencyMs.map { num($0, 1) } ?? "-", judge(r.judge, repeats: report.repeatCount),
            ])
        }
        out += Costs.table(rows)
        let judgeCost = report.rows.reduce(0) { $0 + $1.judgeCostUSD }
        if judgeCost > 0 { out += "judge calls (\(EvalNames.judgePurpose)) cost \(money(judgeCost)) USD more\n" }
        let failed = report.failures
        if !failed.isEmpty {
            out += "\nFAILURES (\(plural(failed.count, "run")))\n"
            for run in failed.prefix(maxListed) {
                let at = "\(run.caseLabel) · \(run.variant) × \(run.model)" + (report.repeatCount > 1 ? " · run \(run.repetition)" : "")
                for f in run.failures { out += "  \(at): \(f.expectation): \(f.message ?? "failed")\n" }
            }
            if failed.count > maxListed { out += "  … and \(failed.count - maxListed) more (--json lists every run)\n" }
        }
        let flaky = report.rows.flatMap { r in r.flakyCases.map { (r, $0) } }
        if !flaky.isEmpty {
            out += "\nFLAKY (repeats disagree)\n"
            for (r, index) in flaky {
                let runs = report.runs.filter { $0.variant == r.variant && $0.model == r.model && $0.caseIndex == index }
                let scores = runs.flatMap { $0.checks.compactMap(\.score) }.map { num($0, 2) }
                out += "  \(runs.first?.caseLabel ?? "case \(index)") · \(r.variant) × \(r.model): passed \(runs.filter(\.passed).count) of \(runs.count)"
                out += scores.isEmpty ? "\n" : "; judge scores \(scores.joined(separator: ", "))\n"
            }
        }
        if report.repeatCount > 1 {
            let spread = report.rows.compactMap { r in r.judge.map { (r, $0) } }
            if !spread.isEmpty {
                out += "\nJUDGE SPREAD across \(report.repeatCount) repeats\n"
                var t = [["VARIANT", "MODEL", "SCORES", "MEAN", "MIN", "MAX", "MAX_STDDEV", "MAX_RANGE"]]
                for (r, j) in spread {
                    t.append([r.variant, r.model, String(j.count), num(j.mean, 3), num(j.min, 2), num(j.max, 2), num(j.stddev, 3), num(j.spread, 2)])
                }
                out += Costs.table(t)
            }
        }
        if let comparison, let baselinePath {
            out += "\nBASELINE \(baselinePath): \(plural(comparison.compared, "row")) compared\n"
            var t = [["VARIANT × MODEL", "PASS_RATE", "IN_TOKENS", "OUT_TOKENS", "COST/RUN_USD"]]
            var cells: [String] = []
            for d in comparison.deltas where !cells.contains(d.cell) { cells.append(d.cell) }
            let metrics = ["pass_rate", "mean_input_tokens", "mean_output_tokens", "cost_per_case_usd"]
            for cell in cells {
                t.append([cell] + metrics.map { m in
                    guard let d = comparison.deltas.first(where: { $0.cell == cell && $0.metric == m }) else { return "-" }
                    return delta(d)
                })
            }
            if cells.count > 0 { out += Costs.table(t) }
            for n in comparison.notes { out += "  note: \(n)\n" }
        }
        if let saved { out += "\nsaved baseline \(saved)\n" }
        if let junit { out += "wrote JUnit report \(junit)\n" }
        if problems.isEmpty {
            if failed.isEmpty {
                out += "\nPASS: all \(plural(report.runs.count, "run")) passed\n"
            } else if gated {
                out += "\nPASS: the gates hold (\(failed.count) of \(plural(report.runs.count, "run")) failed a check)\n"
            } else {
                out += "\nDONE: \(failed.count) of \(plural(report.runs.count, "run")) failed a check; no gate set (--min-pass-rate, --baseline), so the exit status is 0\n"
            }
        } else {
            out += "\nFAIL\n"
            for p in problems { out += "  \(p)\n" }
        }
        return out
    }

    /// `66.7% → 50.0% (-16.7 pts)`, `11.0 → 22.0 (+100%)`.
    static func delta(_ d: EvalComparison.Delta) -> String {
        switch d.metric {
        case "pass_rate": return "\(EvalFormat.percent(d.baseline)) → \(EvalFormat.percent(d.current)) (\(signed(d.change)) pts)"
        case "cost_per_case_usd": return "\(money(d.baseline)) → \(money(d.current)) (\(d.change.isFinite ? signed(d.change) : "+∞")%)"
        default: return "\(num(d.baseline, 1)) → \(num(d.current, 1)) (\(d.change.isFinite ? signed(d.change) : "+∞")%)"
        }
    }

    static func judge(_ j: JudgeStats?, repeats: Int) -> String {
        guard let j else { return "-" }
        return repeats > 1 ? "\(num(j.mean, 2)) ±\(num(j.stddev, 2))" : num(j.mean, 2)
    }

    static func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
    static func num(_ v: Double, _ places: Int) -> String { Decimals.format(v, places: places, trim: false) }
    static func money(_ v: Double?) -> String { v.map { Decimals.format($0, places: 6, trim: false) } ?? "-" }
    static func signed(_ v: Double) -> String {
        let text = Decimals.format(v, places: 1, trim: true)
        return text.hasPrefix("-") ? text : "+" + text
    }
}

/// A one-line progress bar on standard error, redrawn in place; silent when
/// standard error is not a terminal.
final class ProgressBar: Sendable {
    let enabled: Bool
    private let drawn = Mutex(false)
    static let width = 30

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ p: EvalProgress) {
        guard enabled, p.total > 0 else { return }
        let filled = p.done * Self.width / p.total
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: Self.width - filled)
        let failed = p.failed > 0 ? "  \(p.failed) failed" : ""
        let line = "\r\u{1B}[2K[\(bar)] \(p.done)/\(p.total) runs\(failed)"
        drawn.withLock { d in
            d = true
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    func finish() {
        guard enabled else { return }
        drawn.withLock { d in
            if d { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
            d = false
        }
    }
}
