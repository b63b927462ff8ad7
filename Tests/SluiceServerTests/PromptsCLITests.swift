import Foundation
import SluiceCore
import Testing

/// `sluice prompts list|show|diff|check|lock`, run as the real executable.
struct PromptsCLITests {
    static let triage = """
        name: triage
        version: v1
        model: sim-small
        variables: [ticket, unused_var]
        messages:
          - role: system
            content: You sort support tickets.
          - role: user
            content: |
              Ticket: {{ticket}}
              Answer with one word.
        """

    /// A temp dir with `sluice.yaml` and three prompt versions: triage v1, summary v1 and v2.
    func project() throws -> String {
        let dir = try makeTempDir()
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/prompts/summary", withIntermediateDirectories: true)
        try "providers: { sim: { type: simulated } }\n".write(toFile: dir + "/sluice.yaml", atomically: true, encoding: .utf8)
        try Self.triage.write(toFile: dir + "/prompts/triage.prompt.yaml", atomically: true, encoding: .utf8)
        let summary = { (version: String, first: String, extra: String) in
            """
            version: \(version)
            model: sim-small
            temperature: 0.2
            \(extra)
            messages:
              - role: system
                content: You write short summaries.
              - role: user
                content: |
                  \(first)
                  {{text}}
                  Keep it brief.
            """
        }
        try summary("v1", "Summarize this:", "").write(toFile: dir + "/prompts/summary/v1.prompt.yaml", atomically: true, encoding: .utf8)
        try summary("v2", "Summarize this in three bullet points:", "max_tokens: 200")
            .write(toFile: dir + "/prompts/summary/v2.prompt.yaml", atomically: true, encoding: .utf8)
        return dir
    }

    func sluice(_ args: [String], in dir: String) async throws -> (Int32, String) {
        try await SluiceProcess.run(["prompts"] + args + ["--config", dir + "/sluice.yaml"], directory: dir)
    }

    func editTriage(_ dir: String, _ edit: (String) -> String) throws {
        let path = dir + "/prompts/triage.prompt.yaml"
        try edit(try String(contentsOfFile: path, encoding: .utf8)).write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test func checkFailsOnAnUnbumpedEditAndPassesAfterLock() async throws {
        let dir = try project()

        var (status, out) = try await sluice(["check"], in: dir)
        #expect(status == 1, "\(out)")
        #expect(out.contains("no prompts.lock") && out.contains("run `sluice prompts lock`"), "\(out)")

        (status, out) = try await sluice(["lock"], in: dir)
        #expect(status == 0, "\(out)")
        #expect(out.contains("locked 3 prompt versions in prompts.lock"), "\(out)")
        let lock = try String(contentsOfFile: dir + "/prompts.lock", encoding: .utf8)
        let lines = lock.split(separator: "\n")
        #expect(lines.count == 8, "one entry per line: \(lock)")
        #expect(lines.filter { $0.contains("@v") }.map { String($0.split(separator: "\"")[1]) } == ["summary@v1", "summary@v2", "triage@v1"])

        (status, out) = try await sluice(["check"], in: dir)
        #expect(status == 0, "\(out)")
        #expect(out.contains("prompts/triage.prompt.yaml: warning: triage v1 declares variable 'unused_var' that no template uses"), "\(out)")
        #expect(out.contains("prompts OK: 3 versions match prompts.lock"), "\(out)")

        // The template changes, the version does not: CI must fail and say where.
        try editTriage(dir) { $0.replacingOccurrences(of: "one word", with: "a single word") }
        (status, out) = try await sluice(["check"], in: dir)
        #expect(status == 1, "\(out)")
        #expect(out.contains("prompts/triage.prompt.yaml: error: triage v1 changed but its version did not; bump `version`"), "\(out)")
        #expect(!out.contains("summary"), "only triage changed: \(out)")

        (status, out) = try await sluice(["check", "--json"], in: dir)
        #expect(status == 1)
        let report = try JSON.parse(out.trimmingCharacters(in: .whitespacesAndNewlines)).objectValue
        #expect(report?["ok"] == .bool(false))
        #expect(report?["errors"]?.arrayValue?.first?.objectValue?["prompt"] == .string("triage@v1"))

        // The edit is intended: lock again.
        (status, out) = try await sluice(["lock"], in: dir)
        #expect(status == 0 && out.contains("~ triage@v1 (content changed)"), "\(out)")
        (status, out) = try await sluice(["check"], in: dir)
        #expect(status == 0, "\(out)")

        // A bumped version with another edit passes, with a reminder to lock.
        try editTriage(dir) { $0.replacingOccurrences(of: "version: v1", with: "version: v2").replacingOccurrences(of: "single", with: "lower-case") }
        (status, out) = try await sluice(["check"], in: dir)
        #expect(status == 0, "\(out)")
        #expect(out.contains("warning: triage v2 is not locked yet; run `sluice prompts lock`"), "\(out)")
        #expect(out.contains("warning: triage@v1 is locked but missing"), "\(out)")

        (status, out) = try await sluice(["lock"], in: dir)
        #expect(status == 0 && out.contains("+ triage@v2") && out.contains("- triage@v1"), "\(out)")
        (status, out) = try await sluice(["check"], in: dir)
        #expect(status == 0 && !out.contains("not locked") && !out.contains("missing"), "\(out)")
    }

    @Test func listMarksTheLiveVersions() async throws {
        let dir = try project()
        let (status, out) = try await sluice(["list", "--json"], in: dir)
        #expect(status == 0, "\(out)")
        let rows = try JSON.parse(out.trimmingCharacters(in: .whitespacesAndNewlines)).objectValue?["data"]?.arrayValue ?? []
        let live = rows.compactMap { r -> String? in
            guard let o = r.objectValue, let n = o["name"]?.stringValue, let v = o["version"]?.stringValue else { return nil }
            return "\(n)@\(v)=\(o["live"] == .bool(true))"
        }
        #expect(live == ["summary@v1=false", "summary@v2=true", "triage@v1=true"], "\(out)")
        #expect(rows.first?.objectValue?["path"] == .string("prompts/summary/v1.prompt.yaml"))
        #expect(rows.allSatisfy { $0.objectValue?["content_hash"]?.stringValue?.count == 64 })

        let (tableStatus, table) = try await sluice(["list"], in: dir)
        #expect(tableStatus == 0)
        let lines = table.split(separator: "\n")
        #expect(lines.first?.split(separator: " ", omittingEmptySubsequences: true) == ["NAME", "VERSION", "LIVE", "MODEL", "HASH", "PATH"])
        #expect(lines.contains { $0.hasPrefix("summary") && $0.contains("v2") && $0.contains("yes") }, "\(table)")
    }

    @Test func showPrintsMetadataAndTemplates() async throws {
        let dir = try project()
        var (status, out) = try await sluice(["show", "triage"], in: dir)
        #expect(status == 0, "\(out)")
        #expect(out.hasPrefix("triage v1 (live)"), "\(out)")
        #expect(out.contains("variables:    ticket, unused_var") && out.contains("[user]\nTicket: {{ticket}}"), "\(out)")

        (status, out) = try await sluice(["show", "summary", "--version", "v1", "--json"], in: dir)
        #expect(status == 0, "\(out)")
        let o = try JSON.parse(out.trimmingCharacters(in: .whitespacesAndNewlines)).objectValue
        #expect(o?["version"] == .string("v1") && o?["live"] == .bool(false))
        #expect(o?["required_variables"] == .array(["text"]))
        #expect(o?["messages"]?.arrayValue?.count == 2)

        (status, out) = try await sluice(["show", "summary", "--version", "v9"], in: dir)
        #expect(status == 1 && out.contains("prompt 'summary' has no version 'v9'; versions: v1, v2"), "\(out)")
        (status, out) = try await sluice(["show", "nope"], in: dir)
        #expect(status == 1 && out.contains("no prompt 'nope'") && out.contains("summary, triage"), "\(out)")
    }

    @Test func diffShowsChangedLines() async throws {
        let dir = try project()
        var (status, out) = try await sluice(["diff", "summary", "v1", "v2"], in: dir)
        #expect(status == 0, "\(out)")
        let lines = out.split(separator: "\n").map(String.init)
        #expect(lines.first == "--- summary@v1 prompts/summary/v1.prompt.yaml", "\(out)")
        #expect(lines.contains("-  Summarize this:") && lines.contains("+  Summarize this in three bullet points:"), "\(out)")
        #expect(lines.contains("+params.max_tokens: 200") && lines.contains(" params.temperature: 0.2"), "\(out)")
        #expect(lines.contains("   {{text}}"), "context lines are kept: \(out)")
        #expect(lines.contains { $0.hasPrefix("@@ -") }, "\(out)")

        (status, out) = try await sluice(["diff", "summary", "v1", "v1"], in: dir)
        #expect(status == 0 && out.contains("have the same messages"), "\(out)")
    }

    @Test func brokenFileFailsCheckWithFileAndLine() async throws {
        let dir = try project()
        _ = try await sluice(["lock"], in: dir)
        let broken = "version: v1\nmessages:\n  - role: user\n    content: [unclosed\n"
        try broken.write(toFile: dir + "/prompts/broken.prompt.yaml", atomically: true, encoding: .utf8)
        var (status, out) = try await sluice(["check"], in: dir)
        #expect(status == 1, "\(out)")
        #expect(out.contains(#/prompts\/broken\.prompt\.yaml:\d+: error: /#), "\(out)")
        (status, out) = try await sluice(["lock"], in: dir)
        #expect(status == 1 && out.contains("prompts/broken.prompt.yaml:"), "\(out)")
    }

    @Test func lockOptionAndEmptyDirectory() async throws {
        let dir = try project()
        var (status, out) = try await sluice(["lock", "--lock", "ci/custom.lock"], in: dir)
        #expect(status == 1, "a missing directory is reported: \(out)")
        try FileManager.default.createDirectory(atPath: dir + "/ci", withIntermediateDirectories: true)
        (status, out) = try await sluice(["lock", "--lock", "ci/custom.lock"], in: dir)
        #expect(status == 0 && out.contains("in ci/custom.lock"), "\(out)")
        (status, out) = try await sluice(["check", "--lock", "ci/custom.lock"], in: dir)
        #expect(status == 0, "\(out)")
        (status, out) = try await sluice(["check"], in: dir)
        #expect(status == 1, "the default lock does not exist: \(out)")

        let empty = try makeTempDir()
        try "providers: { sim: { type: simulated } }\n".write(toFile: empty + "/sluice.yaml", atomically: true, encoding: .utf8)
        (status, out) = try await sluice(["check"], in: empty)
        #expect(status == 0 && out.contains("nothing to check"), "\(out)")
    }
}
