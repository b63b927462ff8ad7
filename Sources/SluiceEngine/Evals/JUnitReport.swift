import SluiceCore

/// An eval report as JUnit XML for CI (`--junit FILE`): one `<testsuite>` per
/// variant × model, one `<testcase>` per case × repeat. A failed expectation is
/// a `<failure>`; a call that failed (no answer) is an `<error>`.
public enum JUnitReport {
    /// The XML document.
    public static func xml(_ report: EvalReport) -> String {
        let failures = report.runs.filter { !$0.passed && !isError($0) }.count
        let errors = report.runs.filter(isError).count
        let total = report.runs.reduce(0.0) { $0 + $1.latencyMs } / 1000
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"\(attr(report.suite))\" tests=\"\(report.runs.count)\" failures=\"\(failures)\" errors=\"\(errors)\" time=\"\(seconds(total))\">\n"
        for row in report.rows {
            let runs = report.runs.filter { $0.variant == row.variant && $0.model == row.model }
            let rowErrors = runs.filter(isError).count
            let rowFailures = runs.filter { !$0.passed && !isError($0) }.count
            let time = runs.reduce(0.0) { $0 + $1.latencyMs } / 1000
            out += "  <testsuite name=\"\(attr("\(report.suite) [\(row.variant) × \(row.model)]"))\" tests=\"\(runs.count)\" "
            out += "failures=\"\(rowFailures)\" errors=\"\(rowErrors)\" skipped=\"0\" time=\"\(seconds(time))\">\n"
            out += "    <properties>\n"
            for (k, v) in [("variant", row.variant), ("prompt_version", row.promptVersion), ("model", row.model), ("purpose", report.callPurpose)] {
                out += "      <property name=\"\(k)\" value=\"\(attr(v))\"/>\n"
            }
            out += "    </properties>\n"
            let className = "\(report.suite).\(row.variant).\(row.model)"
            for run in runs {
                var name = run.caseLabel
                if report.repeatCount > 1 { name += " run \(run.repetition)" }
                out += "    <testcase name=\"\(attr(name))\" classname=\"\(attr(className))\" time=\"\(seconds(run.latencyMs / 1000))\""
                if run.passed {
                    out += "/>\n"
                    continue
                }
                out += ">\n"
                let failed = run.failures
                let message = failed.map { "\($0.expectation): \($0.message ?? "failed")" }.joined(separator: "; ")
                let tag = isError(run) ? "error" : "failure"
                var detail = failed.map { "\($0.expectation)\n  \($0.message ?? "failed")" }.joined(separator: "\n")
                if let id = run.callID { detail += "\ncall_id: \(id)" }
                if let output = run.output { detail += "\noutput:\n\(output)" }
                out += "      <\(tag) message=\"\(attr(message))\" type=\"\(failed.first?.kind ?? "expectation")\">\(text(detail))</\(tag)>\n"
                out += "    </testcase>\n"
            }
            out += "  </testsuite>\n"
        }
        out += "</testsuites>\n"
        return out
    }

    static func isError(_ run: EvalRun) -> Bool { run.checks.contains { $0.kind == "call" && !$0.passed } }

    static func seconds(_ s: Double) -> String { Decimals.format(s, places: 3, trim: false) }

    /// Text safe inside an attribute value.
    static func attr(_ s: String) -> String {
        escape(s, quotes: true)
    }

    /// Text safe as element content.
    static func text(_ s: String) -> String { escape(s, quotes: false) }

    /// Escapes markup characters and drops what XML 1.0 cannot hold (most control characters).
    static func escape(_ s: String, quotes: Bool) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"" where quotes: out += "&quot;"
            case "'" where quotes: out += "&apos;"
            case "\n" where quotes: out += "&#10;"
            case "\r" where quotes: out += "&#13;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                let v = scalar.value
                if v < 0x20 || (0xFFFE...0xFFFF).contains(v) { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
