import ArgumentParser
import Foundation
import SluiceCore
import SluiceEngine

/// `sluice prompts list|show|diff|check|lock`.
struct PromptsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prompts", abstract: "List, show, diff, check and lock the prompt files.",
        subcommands: [PromptsList.self, PromptsShow.self, PromptsDiff.self, PromptsCheck.self, PromptsLockCommand.self])
}

struct PromptsList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List every prompt version.")

    @OptionGroup var options: ConfigOption
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() async throws {
        let library = try PromptsCLI.loadLibraryOrExit(options)
        if json {
            let data = library.all.map { p -> JSON in
                [
                    "name": .string(p.name), "version": .string(p.version),
                    "live": .bool(library.liveVersion(of: p.name) == p.version), "model": p.model.map(JSON.string) ?? .null,
                    "content_hash": .string(p.contentHash), "path": .string(PromptLock.display(p.path)),
                ]
            }
            print(JSON.object(["object": "list", "data": .array(data)]).jsonString)
            return
        }
        var rows = [["NAME", "VERSION", "LIVE", "MODEL", "HASH", "PATH"]]
        for p in library.all {
            let live = library.liveVersion(of: p.name) == p.version ? "yes" : "no"
            rows.append([p.name, p.version, live, p.model ?? "-", String(p.contentHash.prefix(12)), PromptLock.display(p.path)])
        }
        print(PromptsCLI.table(rows))
        if library.all.isEmpty { print("(no prompt files in \(PromptLock.display(library.directory)))") }
    }
}

struct PromptsShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one prompt version and its templates.")

    @OptionGroup var options: ConfigOption
    @Argument(help: "The prompt name.") var name: String
    @Option(help: "The version (default: the live one).") var version: String?
    @Flag(help: "Print JSON instead of text.") var json = false

    func run() async throws {
        let library = try PromptsCLI.loadLibraryOrExit(options)
        let p = try PromptsCLI.promptOrExit(library, name, version)
        let live = library.liveVersion(of: p.name) == p.version
        let versions = library.versions(of: p.name).map(\.version)
        if json {
            let object: JSON = [
                "name": .string(p.name), "version": .string(p.version), "live": .bool(live),
                "versions": .array(versions.map(JSON.string)), "path": .string(PromptLock.display(p.path)),
                "description": p.description.map(JSON.string) ?? .null, "model": p.model.map(JSON.string) ?? .null,
                "params": .object(p.params), "output_schema": p.outputSchema ?? .null,
                "variables": p.declaredVariables.map { .array($0.map(JSON.string)) } ?? .null,
                "required_variables": .array(p.requiredVariables.sorted().map(JSON.string)),
                "referenced_variables": .array(p.referencedVariables.sorted().map(JSON.string)),
                "content_hash": .string(p.contentHash),
                "messages": .array(p.messages.map { ["role": .string($0.role), "content": .string($0.text)] }),
            ]
            print(object.jsonString)
            return
        }
        var out = ["\(p.name) \(p.version)\(live ? " (live)" : "")"]
        func field(_ label: String, _ value: String) {
            out.append((label + ":").padding(toLength: 14, withPad: " ", startingAt: 0) + value)
        }
        field("path", PromptLock.display(p.path))
        if let d = p.description { field("description", d) }
        field("model", p.model ?? "(none: the purpose names it)")
        field("params", p.params.count == 0 ? "(none)" : PromptsCLI.compact(.object(p.params)))
        field("schema", p.outputSchema.map(PromptsCLI.compact) ?? "(none)")
        field("variables", p.declaredVariables.map { $0.isEmpty ? "(none)" : $0.joined(separator: ", ") } ?? "(not declared)")
        field("required", p.requiredVariables.isEmpty ? "(none)" : p.requiredVariables.sorted().joined(separator: ", "))
        field("hash", p.contentHash)
        field("versions", versions.joined(separator: ", "))
        for m in p.messages {
            out.append("")
            out.append("[\(m.role)]")
            out.append(contentsOf: PromptsCLI.lines(m.text))
        }
        print(out.joined(separator: "\n"))
    }
}

struct PromptsDiff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff", abstract: "Show what changed between two versions of a prompt (messages, model, params, schema).")

    @OptionGroup var options: ConfigOption
    @Argument(help: "The prompt name.") var name: String
    @Argument(help: "The old version.") var from: String
    @Argument(help: "The new version.") var to: String

    func run() async throws {
        let library = try PromptsCLI.loadLibraryOrExit(options)
        let a = try PromptsCLI.promptOrExit(library, name, from)
        let b = try PromptsCLI.promptOrExit(library, name, to)
        let diff = LineDiff.unified(
            PromptsCLI.diffLines(a), PromptsCLI.diffLines(b),
            from: "\(a.id) \(PromptLock.display(a.path))", to: "\(b.id) \(PromptLock.display(b.path))")
        print(diff ?? "\(a.id) and \(b.id) have the same messages, model, params and schema (content hash \(a.contentHash.prefix(12)))")
    }
}

struct PromptsCheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Fail when a prompt changed but its version did not (against prompts.lock); warn about unlocked versions and variables.")

    @OptionGroup var options: ConfigOption
    @Option(help: "The lock file (default: prompts.lock beside the prompts directory).") var lock: String?
    @Flag(help: "Print JSON instead of text.") var json = false

    func run() async throws {
        let config = try loadConfigOrExit(options.config)
        let lockPath = lock ?? PromptLock.defaultPath(promptsDirectory: config.resolvedPromptsDir)
        var errors: [PromptsCLI.Issue] = []
        var warnings: [PromptsCLI.Issue] = []
        var count = 0
        var summary = ""
        check: do {
            let library: PromptLibrary
            do { library = try PromptLoader.load(directory: config.resolvedPromptsDir) } catch {
                errors.append(PromptsCLI.Issue(error: error))
                break check
            }
            count = library.all.count
            do { try ConfigLoader.validatePrompts(config, library: library) } catch { errors.append(PromptsCLI.Issue(error: error)) }
            let pinned: PromptLock?
            do { pinned = try PromptLock.read(lockPath) } catch {
                errors.append(PromptsCLI.Issue(error: error))
                break check
            }
            guard let pinned else {
                if count == 0 {
                    summary = "no prompt files in \(PromptLock.display(config.resolvedPromptsDir)); nothing to check"
                } else {
                    errors.append(
                        PromptsCLI.Issue(
                            message: "no \(PromptLock.display(lockPath)); run `sluice prompts lock` to pin the \(count) prompt "
                                + "version\(count == 1 ? "" : "s") and commit the file"))
                }
                break check
            }
            let report = pinned.check(library: library)
            errors += report.errors.map(PromptsCLI.Issue.init(finding:))
            warnings += report.warnings.map(PromptsCLI.Issue.init(finding:))
        }
        if json {
            let object: JSON = [
                "ok": .bool(errors.isEmpty), "lock": .string(PromptLock.display(lockPath)), "prompt_versions": .int(count),
                "errors": .array(errors.map(\.json)), "warnings": .array(warnings.map(\.json)),
            ]
            print(object.jsonString)
        } else {
            for e in errors { print(e.text("error")) }
            for w in warnings { print(w.text("warning")) }
            let tally = "\(errors.count) error\(errors.count == 1 ? "" : "s"), \(warnings.count) warning\(warnings.count == 1 ? "" : "s")"
            if !errors.isEmpty {
                print("prompts check failed: \(tally)")
            } else {
                let versions = "\(count) version\(count == 1 ? "" : "s")"
                print(summary.isEmpty ? "prompts OK: \(versions) match \(PromptLock.display(lockPath)) (\(tally))" : summary)
            }
        }
        if !errors.isEmpty { throw ExitCode(1) }
    }
}

struct PromptsLockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lock", abstract: "Pin the content hash of every prompt version in prompts.lock (commit the file).")

    @OptionGroup var options: ConfigOption
    @Option(help: "The lock file (default: prompts.lock beside the prompts directory).") var lock: String?

    func run() async throws {
        let config = try loadConfigOrExit(options.config)
        let library = try PromptsCLI.loadLibraryOrExit(config)
        let path = lock ?? PromptLock.defaultPath(promptsDirectory: config.resolvedPromptsDir)
        // An unreadable old lock is only used to report changes; it gets replaced.
        let old = try? PromptLock.read(path)
        let fresh = PromptLock(library: library)
        do { try fresh.write(path) } catch {
            FileHandle.standardError.write(Data("sluice: cannot write \(path): \(error.localizedDescription)\n".utf8))
            throw ExitCode(1)
        }
        let c = fresh.changes(from: old)
        for id in c.added { print("+ \(id)") }
        for id in c.changed { print("~ \(id) (content changed)") }
        for id in c.removed { print("- \(id)") }
        let n = fresh.hashes.count
        print("locked \(n) prompt version\(n == 1 ? "" : "s") in \(PromptLock.display(path))")
    }
}

/// Helpers shared by the `prompts` subcommands.
enum PromptsCLI {
    /// A check finding, from a lock report or a load failure.
    struct Issue {
        var file: String?
        var line: Int?
        var prompt: String?
        var message: String

        /// `FILE:LINE: LEVEL: MESSAGE`, as compilers print (editors and CI annotate from it).
        func text(_ level: String) -> String {
            guard let file else { return "\(level): \(message)" }
            return "\(file)\(line.map { ":\($0)" } ?? ""): \(level): \(message)"
        }

        var json: JSON {
            [
                "file": file.map(JSON.string) ?? .null, "line": line.map(JSON.int) ?? .null,
                "prompt": prompt.map(JSON.string) ?? .null, "message": .string(message),
            ]
        }
    }

    static func loadLibraryOrExit(_ options: ConfigOption) throws -> PromptLibrary {
        try loadLibraryOrExit(try loadConfigOrExit(options.config))
    }

    /// The prompt files of `config`; a broken file prints `FILE:LINE: error: MESSAGE` and exits 1.
    static func loadLibraryOrExit(_ config: SluiceConfig) throws -> PromptLibrary {
        do {
            return try PromptLoader.load(directory: config.resolvedPromptsDir)
        } catch {
            FileHandle.standardError.write(Data((Issue(error: error).text("error") + "\n").utf8))
            throw ExitCode(1)
        }
    }

    /// `name` at `version` (the live one when `nil`), or a message naming what exists and exit 1.
    static func promptOrExit(_ library: PromptLibrary, _ name: String, _ version: String?) throws -> Prompt {
        if let p = library.prompt(name, version: version) { return p }
        let versions = library.versions(of: name).map(\.version)
        let message =
            versions.isEmpty
            ? "no prompt '\(name)' in \(PromptLock.display(library.directory)); prompts: "
                + (library.names.isEmpty ? "(none)" : library.names.joined(separator: ", "))
            : "prompt '\(name)' has no version '\(version ?? "")'; versions: \(versions.joined(separator: ", "))"
        FileHandle.standardError.write(Data("sluice: \(message)\n".utf8))
        throw ExitCode(1)
    }

    /// The text a diff compares: model, one line per param, the schema pretty-printed, then each message.
    static func diffLines(_ p: Prompt) -> [String] {
        var out = ["model: \(p.model ?? "(none)")"]
        for key in p.params.keys.sorted() { out.append("params.\(key): \(compact(p.params[key] ?? .null))") }
        if let schema = p.outputSchema {
            out.append("output_schema:")
            out += pretty(schema).split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }
        }
        for (i, m) in p.messages.enumerated() {
            out.append("message \(i + 1) (\(m.role)):")
            out += lines(m.text).map { $0.isEmpty ? "" : "  " + $0 }
        }
        return out
    }

    /// A template's lines, without the newline a YAML block scalar ends with.
    static func lines(_ text: String) -> [String] {
        var l = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if l.count > 1, l.last == "" { l.removeLast() }
        return l
    }

    /// Canonical one-line JSON (sorted keys).
    static func compact(_ json: JSON) -> String { String(decoding: json.canonicalBytes, as: UTF8.self) }

    /// Indented JSON with sorted keys, so that a schema diffs line by line.
    static func pretty(_ json: JSON, _ indent: String = "") -> String {
        let inner = indent + "  "
        switch json {
        case .object(let o) where o.count > 0:
            let items = o.keys.sorted().map { "\(inner)\(JSON.string($0).jsonString): \(pretty(o[$0] ?? .null, inner))" }
            return "{\n" + items.joined(separator: ",\n") + "\n\(indent)}"
        case .array(let a) where !a.isEmpty:
            return "[\n" + a.map { inner + pretty($0, inner) }.joined(separator: ",\n") + "\n\(indent)]"
        default:
            return compact(json)
        }
    }

    /// Columns padded to their widest cell.
    static func table(_ rows: [[String]]) -> String {
        var widths: [Int] = []
        for row in rows {
            for (i, c) in row.enumerated() {
                if i == widths.count { widths.append(0) }
                widths[i] = max(widths[i], c.count)
            }
        }
        return rows.map { row in
            row.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}

extension PromptsCLI.Issue {
    init(finding f: PromptLock.Finding) { self.init(file: f.file.map(PromptLock.display), prompt: f.prompt, message: f.message) }

    init(error: any Error) {
        if let e = error as? PromptError {
            self.init(file: PromptLock.display(e.file), line: e.line, message: e.message)
        } else {
            self.init(message: error is ConfigError ? "config: \(error)" : "\(error)")
        }
    }
}

/// A line diff over the longest common subsequence, printed unified-style.
enum LineDiff {
    enum Op: Equatable {
        case same(String), removed(String), added(String)

        var isSame: Bool { if case .same = self { true } else { false } }
    }

    /// The edit script turning `a` into `b`.
    static func ops(_ a: [String], _ b: [String]) -> [Op] {
        let (n, m) = (a.count, b.count)
        var lcs = Array(repeating: Array(repeating: 0, count: m + 1), count: n + 1)
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
            }
        }
        var (i, j) = (0, 0)
        var out: [Op] = []
        while i < n, j < m {
            if a[i] == b[j] {
                out.append(.same(a[i]))
                (i, j) = (i + 1, j + 1)
            } else if lcs[i + 1][j] >= lcs[i][j + 1] {
                out.append(.removed(a[i]))
                i += 1
            } else {
                out.append(.added(b[j]))
                j += 1
            }
        }
        out += a[i...].map(Op.removed) + b[j...].map(Op.added)
        return out
    }

    /// `--- from` / `+++ to` and `@@` hunks with `context` lines around each change; `nil` when equal.
    static func unified(_ a: [String], _ b: [String], from: String, to: String, context: Int = 3) -> String? {
        let ops = ops(a, b)
        let changed = ops.indices.filter { !ops[$0].isSame }
        guard let first = changed.first else { return nil }
        var groups: [ClosedRange<Int>] = []
        var (start, end) = (first, first)
        for k in changed.dropFirst() {
            if k - end > 2 * context {
                groups.append(start...end)
                start = k
            }
            end = k
        }
        groups.append(start...end)
        var out = ["--- \(from)", "+++ \(to)"]
        for g in groups {
            let lo = max(0, g.lowerBound - context)
            let hi = min(ops.count - 1, g.upperBound + context)
            func position(_ isOld: Bool) -> (Int, Int) {
                let counts: (Op) -> Bool = { op in
                    if case .same = op { return true }
                    if case .removed = op { return isOld }
                    return !isOld
                }
                let before = ops[..<lo].filter(counts).count
                let within = ops[lo...hi].filter(counts).count
                return (within == 0 ? before : before + 1, within)
            }
            let (os, oc) = position(true)
            let (ns, nc) = position(false)
            out.append("@@ -\(os),\(oc) +\(ns),\(nc) @@")
            for op in ops[lo...hi] {
                switch op {
                case .same(let s): out.append(" " + s)
                case .removed(let s): out.append("-" + s)
                case .added(let s): out.append("+" + s)
                }
            }
        }
        return out.joined(separator: "\n")
    }
}

