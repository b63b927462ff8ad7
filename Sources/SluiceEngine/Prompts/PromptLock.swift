import Foundation
import SluiceCore

/// `prompts.lock`: the content hash of every prompt version, written by
/// `sluice prompts lock` and kept in git. `sluice prompts check` compares the
/// files against it, so a template edited without a `version` bump fails CI.
///
/// The file is JSON with one entry per line, keys sorted:
///
/// ```json
/// {
///   "version": 1,
///   "prompts": {
///     "summary@v2": "9f2c…",
///     "triage@v3": "41ab…"
///   }
/// }
/// ```
public struct PromptLock: Sendable, Equatable {
    /// The format version this code reads and writes.
    public static let formatVersion = 1
    /// The lock file's name.
    public static let fileName = "prompts.lock"

    /// Content hash by `name@version`.
    public var hashes: [String: String]

    /// A lock pinning `hashes`.
    public init(hashes: [String: String]) { self.hashes = hashes }

    /// A lock pinning every version in `library` as it is now.
    public init(library: PromptLibrary) {
        var hashes: [String: String] = [:]
        for p in library.all { hashes[p.id] = p.contentHash }
        self.hashes = hashes
    }

    /// Where the lock lives by default: beside the prompts directory
    /// (`prompts/` → `prompts.lock` in the same parent directory).
    public static func defaultPath(promptsDirectory: String) -> String {
        ((promptsDirectory as NSString).deletingLastPathComponent as NSString).appendingPathComponent(fileName)
    }

    /// Reads the lock at `path`; `nil` when there is no file.
    /// Throws a ``PromptError`` naming the file when it is not a lock.
    public static func read(_ path: String) throws -> PromptLock? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PromptError(file: path, line: nil, message: "cannot be read")
        }
        func bad(_ why: String, line: Int? = nil) -> PromptError {
            PromptError(file: path, line: line, message: "\(why); delete it and run `sluice prompts lock` to write a fresh one")
        }
        let json: JSON
        do { json = try JSON.parse(Array(data)) } catch { throw bad("not valid JSON (\(error.reason))", line: error.line) }
        guard let root = json.objectValue else { throw bad("expected a JSON object") }
        guard let v = root["version"]?.intValue else { throw bad("missing \"version\"") }
        guard v == formatVersion else {
            throw PromptError(
                file: path, line: nil,
                message: "lock format version \(v) is not supported (this sluice reads version \(formatVersion)); upgrade sluice")
        }
        guard let entries = root["prompts"]?.objectValue else { throw bad("missing the \"prompts\" object") }
        var hashes: [String: String] = [:]
        for (id, value) in entries {
            guard let hash = value.stringValue else { throw bad("\"\(id)\" must map to a content hash string") }
            hashes[id] = hash
        }
        return PromptLock(hashes: hashes)
    }

    /// The file text: stable, sorted, one entry per line, ending in a newline.
    public var text: String {
        var out = "{\n  \"version\": \(Self.formatVersion),\n  \"prompts\": {"
        let ids = hashes.keys.sorted()
        for (i, id) in ids.enumerated() {
            out += "\n    \(JSON.string(id).jsonString): \(JSON.string(hashes[id] ?? "").jsonString)"
            if i < ids.count - 1 { out += "," }
        }
        out += ids.isEmpty ? "}\n}\n" : "\n  }\n}\n"
        return out
    }

    /// Writes ``text`` to `path` atomically.
    public func write(_ path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// One finding of ``check(library:)``.
    public struct Finding: Sendable, Equatable, CustomStringConvertible {
        /// The prompt file, when the finding is about one.
        public var file: String?
        /// `name@version`.
        public var prompt: String
        /// What is wrong and what to do.
        public var message: String

        /// `FILE: MESSAGE`, with the file relative to the current directory when under it.
        public var description: String { file.map { "\(PromptLock.display($0)): \(message)" } ?? message }
    }

    /// What ``check(library:)`` found.
    public struct Report: Sendable, Equatable {
        /// Versions whose content changed while the version tag did not: CI must fail.
        public var errors: [Finding] = []
        /// Everything else worth a look: unlocked or missing versions, variable mismatches.
        public var warnings: [Finding] = []

        /// `true` when there are no errors.
        public var ok: Bool { errors.isEmpty }
    }

    /// Compares `library` against this lock, and checks each version's `variables` list.
    public func check(library: PromptLibrary) -> Report {
        var report = Report()
        var present = Set<String>()
        for p in library.all {
            present.insert(p.id)
            func warn(_ message: String) { report.warnings.append(Finding(file: p.path, prompt: p.id, message: message)) }
            switch hashes[p.id] {
            case .some(p.contentHash): break
            case .some:
                report.errors.append(
                    Finding(
                        file: p.path, prompt: p.id,
                        message: "\(p.name) \(p.version) changed but its version did not; bump `version` "
                            + "(or run `sluice prompts lock` if the change is intended)"))
            case nil: warn("\(p.name) \(p.version) is not locked yet; run `sluice prompts lock`")
            }
            if let declared = p.declaredVariables {
                for name in p.unusedVariables(declared) {
                    warn("\(p.name) \(p.version) declares variable '\(name)' that no template uses")
                }
                // Names inside a section may be fields of the section's item, so only
                // names outside every section must come from the declared list.
                let known = Set(declared)
                let outside = Set(
                    p.messages.flatMap { TemplateScanner.references(in: $0.text) }
                        .filter { $0.topLevel && $0.name != "." }.map(\.root))
                for name in outside.sorted() where !known.contains(name) {
                    warn("\(p.name) \(p.version) uses variable '\(name)' that its `variables` list does not declare")
                }
            }
        }
        for id in hashes.keys.sorted() where !present.contains(id) {
            report.warnings.append(
                Finding(
                    file: nil, prompt: id,
                    message: "\(id) is locked but missing: no prompt file defines it any more; "
                        + "run `sluice prompts lock` to drop it"))
        }
        return report
    }

    /// What changed from `old` to this lock, for `sluice prompts lock` to print.
    public func changes(from old: PromptLock?) -> (added: [String], changed: [String], removed: [String]) {
        let before = old?.hashes ?? [:]
        let added = hashes.keys.filter { before[$0] == nil }.sorted()
        let changed = hashes.keys.filter { before[$0] != nil && before[$0] != hashes[$0] }.sorted()
        let removed = before.keys.filter { hashes[$0] == nil }.sorted()
        return (added, changed, removed)
    }

    /// `path` relative to the current directory when it lies under it, else as given.
    public static func display(_ path: String) -> String {
        let cwd = FileManager.default.currentDirectoryPath
        let prefix = cwd.hasSuffix("/") ? cwd : cwd + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }
}
