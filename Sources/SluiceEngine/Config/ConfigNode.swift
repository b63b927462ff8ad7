import SluiceCore
import Foundation
import Yams

/// The raw layer of the config: a YAML node with its key path and line, and
/// readers that reject unknown keys and wrong types with a ``ConfigError``.
/// `${VAR}` (and `${VAR:-default}`) in scalars is replaced from the environment.
struct ConfigNode {
    let node: Node
    let path: String
    let env: [String: String]
    /// The `${…}` expressions found in the text, replaced before parsing by
    /// `__sluice_env_N__` so that `key: ${VAR}` also works inside `{ … }` flow mappings.
    var refs: [String] = []

    var line: Int? { node.mark?.line }

    func error(_ message: String) -> ConfigError { ConfigError(path: path, line: line, message) }

    func child(_ key: String, _ node: Node) -> ConfigNode {
        ConfigNode(node: node, path: path.isEmpty ? key : "\(path).\(key)", env: env, refs: refs)
    }

    /// The members of a mapping, in order, after checking every key is allowed.
    func mapping(allowed: [String]? = nil, later: [String: String] = [:]) throws -> [(String, ConfigNode)] {
        guard case .mapping(let m) = node else {
            if case .scalar(let s) = node, s.string.isEmpty || s.string == "~" || s.string == "null" { return [] }
            throw error("expected a mapping (key: value), got \(kind)")
        }
        var out: [(String, ConfigNode)] = []
        for (k, v) in m {
            guard case .scalar(let ks) = k else { throw error("keys must be plain strings") }
            let key = ks.string
            let c = child(key, v)
            if let allowed, !allowed.contains(key) {
                if let issue = later[key] {
                    throw ConfigError(
                        path: c.path, line: k.mark?.line,
                        "'\(key)' is part of the Sluice config contract but this build does not implement it yet (\(issue)); remove it")
                }
                throw ConfigError(
                    path: c.path, line: k.mark?.line,
                    "unknown key '\(key)'; expected one of: \(allowed.joined(separator: ", "))")
            }
            out.append((key, c))
        }
        return out
    }

    func sequence() throws -> [ConfigNode] {
        guard case .sequence(let s) = node else { throw error("expected a list, got \(kind)") }
        return s.enumerated().map { i, n in ConfigNode(node: n, path: "\(path)[\(i)]", env: env, refs: refs) }
    }

    var kind: String {
        switch node {
        case .scalar(let s): "'\(s.string)'"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    func string() throws -> String {
        guard case .scalar(let s) = node else { throw error("expected a string, got \(kind)") }
        return try interpolate(s.string)
    }

    func int() throws -> Int {
        let s = try string()
        guard let v = Int(s) else { throw error("expected an integer, got '\(s)'") }
        return v
    }

    func double() throws -> Double {
        let s = try string()
        guard let v = Double(s), v.isFinite else { throw error("expected a number, got '\(s)'") }
        return v
    }

    func bool() throws -> Bool {
        let s = try string()
        switch s.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error("expected true or false, got '\(s)'")
        }
    }

    /// The node as JSON: mappings become objects (in order), sequences arrays;
    /// plain scalars that read as numbers, booleans or null become those, quoted ones stay strings.
    func json() throws -> JSON {
        switch node {
        case .mapping:
            var o = JSONObject()
            for (k, v) in try mapping() { o[k] = try v.json() }
            return .object(o)
        case .sequence:
            return .array(try sequence().map { try $0.json() })
        case .scalar(let scalar):
            let text = try string()
            guard scalar.style == .plain else { return .string(text) }
            switch text {
            case "true": return .bool(true)
            case "false": return .bool(false)
            case "null", "~": return .null
            default: break
            }
            if let parsed = try? JSON.parse(text), case .number = parsed { return parsed }
            return .string(text)
        default:
            throw error("expected a value, got \(kind)")
        }
    }

    func stringList() throws -> [String] {
        try sequence().map { try $0.string() }
    }

    func stringMap() throws -> [(String, String)] {
        try mapping().map { k, v in (k, try v.string()) }
    }

    /// Replaces `${VAR}` and `${VAR:-default}`; a missing variable without default is an error naming it.
    func interpolate(_ text: String) throws -> String {
        guard text.contains("__sluice_env_") else { return text }
        var out = ""
        var rest = Substring(text)
        while let start = rest.range(of: "__sluice_env_") {
            out += rest[rest.startIndex..<start.lowerBound]
            guard let end = rest[start.upperBound...].range(of: "__"),
                let index = Int(rest[start.upperBound..<end.lowerBound]), refs.indices.contains(index)
            else {
                out += rest[start]
                rest = rest[start.upperBound...]
                continue
            }
            out += try resolve(refs[index])
            rest = rest[end.upperBound...]
        }
        out += rest
        return out
    }

    func resolve(_ expr: String) throws -> String {
        var name = expr
        var fallback: String?
        if let r = expr.range(of: ":-") {
            name = String(expr[expr.startIndex..<r.lowerBound])
            fallback = String(expr[r.upperBound...])
        }
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            throw error("invalid environment reference '${\(expr)}'")
        }
        if let value = env[name], !value.isEmpty { return value }
        if let fallback { return fallback }
        throw error("environment variable \(name) is not set")
    }

    /// Replaces every `${…}` in YAML text by a placeholder and returns the expressions.
    static func extractReferences(_ text: String) throws -> (String, [String]) {
        var out = ""
        var refs: [String] = []
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            out += rest[rest.startIndex..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(where: { $0 == "}" || $0 == "\n" }), rest[end] == "}" else {
                let line = text[..<start.lowerBound].reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
                throw ConfigError(path: nil, line: line, "unterminated '${' (write ${NAME})")
            }
            out += "__sluice_env_\(refs.count)__"
            refs.append(String(rest[start.upperBound..<end]))
            rest = rest[rest.index(after: end)...]
        }
        out += rest
        return (out, refs)
    }
}
