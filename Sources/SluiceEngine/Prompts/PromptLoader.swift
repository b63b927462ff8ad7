import Foundation
import Mustache
import SluiceCore
import Yams

/// A prompt file that cannot be used, naming the file and line.
public struct PromptError: Error, Sendable, CustomStringConvertible {
    /// The file, as found under the prompts directory.
    public var file: String
    /// The 1-based line, when known.
    public var line: Int?
    /// What is wrong.
    public var message: String

    /// `FILE:LINE: MESSAGE`.
    public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(message)" }
}

/// Reads `prompts/NAME.prompt.yaml` and `prompts/NAME/VERSION.prompt.yaml` files.
public enum PromptLoader {
    static let suffix = ".prompt.yaml"
    static let keys = [
        "name", "version", "description", "model", "temperature", "top_p", "max_tokens", "stop", "seed", "params",
        "output_schema", "variables", "messages",
    ]

    /// Every prompt file under `directory`; a missing directory is an empty library.
    /// The first broken file throws, so a reload keeps the old set.
    public static func load(directory: String) throws -> PromptLibrary {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else { return PromptLibrary(prompts: [], directory: directory) }
        var files: [(path: String, expected: (name: String, version: String?))] = []
        for entry in try fm.contentsOfDirectory(atPath: directory).sorted() {
            let full = (directory as NSString).appendingPathComponent(entry)
            var sub: ObjCBool = false
            _ = fm.fileExists(atPath: full, isDirectory: &sub)
            if sub.boolValue {
                for file in try fm.contentsOfDirectory(atPath: full).sorted() where file.hasSuffix(suffix) {
                    files.append(((full as NSString).appendingPathComponent(file), (entry, String(file.dropLast(suffix.count)))))
                }
            } else if entry.hasSuffix(suffix) {
                files.append((full, (String(entry.dropLast(suffix.count)), nil)))
            }
        }
        var prompts: [Prompt] = []
        var seen: [String: String] = [:]
        for f in files {
            let text: String
            do { text = try String(contentsOfFile: f.path, encoding: .utf8) } catch {
                throw PromptError(file: f.path, line: nil, message: "cannot be read: \(error.localizedDescription)")
            }
            let p = try parse(text, path: f.path, expectedName: f.expected.name, expectedVersion: f.expected.version)
            if let other = seen[p.id] {
                throw PromptError(file: f.path, line: nil, message: "\(p.id) is also defined in \(other); each version must live in one file")
            }
            seen[p.id] = f.path
            prompts.append(p)
        }
        return PromptLibrary(prompts: prompts, directory: directory)
    }

    /// Parses one prompt file. `expectedName` (and, in a version folder, `expectedVersion`)
    /// come from the path; the file's own `name` and `version` must agree with them.
    public static func parse(_ text: String, path: String, expectedName: String, expectedVersion: String?) throws -> Prompt {
        func fail(_ line: Int?, _ message: String) -> PromptError { PromptError(file: path, line: line, message: message) }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch let e as YamlError {
            throw fail(Self.line(of: e), "invalid YAML: \(Self.problem(of: e))")
        }
        guard let node else { throw fail(1, "the file is empty; it needs at least 'version' and 'messages'") }
        let root = ConfigNode(node: node, path: "", env: [:])
        do {
            var name = expectedName
            var version = expectedVersion
            var description: String?
            var model: String?
            var params = JSONObject()
            var schema: JSON?
            var declared: [String]?
            var messages: [Prompt.Message]?
            for (key, v) in try root.mapping(allowed: keys) {
                switch key {
                case "name":
                    let n = try v.string()
                    guard n == expectedName else { throw v.error("name '\(n)' does not match the file name '\(expectedName)'") }
                    name = n
                case "version":
                    let s = try v.string()
                    guard !s.isEmpty, s.count <= 64, !s.contains("@"), !s.contains("/") else {
                        throw v.error("version must be 1–64 characters without '@' or '/'")
                    }
                    if let expectedVersion, s != expectedVersion {
                        throw v.error("version '\(s)' does not match the file name '\(expectedVersion)\(suffix)'")
                    }
                    version = s
                case "description": description = try v.string()
                case "model": model = try v.string()
                case "temperature", "top_p":
                    _ = try v.double()
                    params[key] = try v.json()
                case "max_tokens", "seed": params[key] = .int(try v.int())
                case "stop": params[key] = try v.json()
                case "params":
                    guard case .object(let o) = try v.json() else { throw v.error("expected a mapping of request parameters") }
                    for (k, value) in o {
                        guard !["messages", "model", "stream"].contains(k) else { throw v.error("'\(k)' cannot be a prompt parameter") }
                        params[k] = value
                    }
                case "output_schema": schema = try outputSchema(v, relativeTo: path)
                case "variables": declared = try v.stringList()
                case "messages": messages = try parseMessages(v)
                default: break
                }
            }
            guard let version else { throw root.error("missing 'version' (a short tag such as v1)") }
            guard let messages, !messages.isEmpty else { throw root.error("missing 'messages': at least one {role, content}") }
            return Prompt(
                name: name, version: version, path: path, description: description, model: model, params: params,
                outputSchema: schema, declaredVariables: declared, messages: messages)
        } catch let e as ConfigError {
            throw fail(e.line, (e.path.map { $0.isEmpty ? "" : "\($0): " } ?? "") + e.message)
        }
    }

    static func parseMessages(_ n: ConfigNode) throws -> [Prompt.Message] {
        try n.sequence().map { m in
            var role: String?
            var content: String?
            var contentNode = m
            for (k, v) in try m.mapping(allowed: ["role", "content"]) {
                if k == "role" { role = try v.string() } else { (content, contentNode) = (try v.string(), v) }
            }
            guard let role, ["system", "developer", "user", "assistant"].contains(role) else {
                throw m.error("each message needs a role: system, developer, user or assistant")
            }
            guard let content else { throw m.error("each message needs a content template") }
            do {
                // Prompts are text, not HTML: no escaping of what variables insert.
                let template = try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + content)
                return Prompt.Message(role: role, text: content, template: template)
            } catch let e as MustacheTemplate.ParserError {
                // A block scalar (`|`) starts on the line after its key.
                var base = contentNode.line ?? 1
                if case .scalar(let s) = contentNode.node, s.style == .literal || s.style == .folded { base += 1 }
                throw ConfigError(
                    path: contentNode.path, line: base + e.context.lineNumber - 1,
                    "bad Mustache template: \(e.error) near '\(e.context.line.replacingOccurrences(of: "{{% CONTENT_TYPE: TEXT}}", with: "").trimmingCharacters(in: .whitespacesAndNewlines))'")
            }
        }
    }

    /// An inline schema mapping, or a path to a JSON file relative to the prompt file.
    static func outputSchema(_ n: ConfigNode, relativeTo path: String) throws -> JSON {
        if case .scalar = n.node {
            let rel = try n.string()
            let file = rel.hasPrefix("/") ? rel : ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(rel)
            guard let data = FileManager.default.contents(atPath: file) else { throw n.error("schema file '\(file)' cannot be read") }
            guard let json = try? JSON.parse(Array(data)), json.objectValue != nil else {
                throw n.error("schema file '\(file)' is not a JSON object")
            }
            return json
        }
        let json = try n.json()
        guard json.objectValue != nil else { throw n.error("output_schema must be a JSON Schema object or a path to one") }
        return json
    }

    static func problem(of error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): problem
        default: "\(error)"
        }
    }

    static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        default: nil
        }
    }
}
