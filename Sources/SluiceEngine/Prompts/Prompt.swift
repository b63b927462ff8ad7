import Foundation
import Mustache
import SluiceCore

/// One version of a prompt file: Mustache message templates plus the model,
/// sampling parameters and output schema that go with them.
public struct Prompt: Sendable {
    /// One message template.
    public struct Message: Sendable {
        /// `system`, `developer`, `user` or `assistant`.
        public var role: String
        /// The template text as written.
        public var text: String
        let template: MustacheTemplate
    }

    /// The prompt's name (`triage`).
    public var name: String
    /// Its version tag (`v3`, `2026-11-01`).
    public var version: String
    /// The file it was read from.
    public var path: String
    /// A note for people; not sent.
    public var description: String?
    /// The model name to call, unless the purpose names one.
    public var model: String?
    /// Request parameters (`temperature`, `max_tokens`, `top_p`, `stop`, `seed` and any under `params:`).
    public var params: JSONObject
    /// The JSON Schema the answer must match, if any.
    public var outputSchema: JSON?
    /// The variables the file declares, if it declares them.
    public var declaredVariables: [String]?
    /// The message templates in order.
    public var messages: [Message]
    /// SHA-256 over everything that shapes the request: templates, model, params and schema.
    /// Part of the cache key, and what `prompts.lock` pins per version.
    public var contentHash: String
    /// Variables outside every section: they must be given.
    public var requiredVariables: Set<String>
    /// Every variable the templates read, inside sections included.
    public var referencedVariables: Set<String>

    init(
        name: String, version: String, path: String, description: String?, model: String?, params: JSONObject,
        outputSchema: JSON?, declaredVariables: [String]?, messages: [Message]
    ) {
        self.name = name
        self.version = version
        self.path = path
        self.description = description
        self.model = model
        self.params = params
        self.outputSchema = outputSchema
        self.declaredVariables = declaredVariables
        self.messages = messages
        var required = Set<String>()
        var referenced = Set<String>()
        for m in messages {
            for r in TemplateScanner.references(in: m.text) where r.name != "." {
                referenced.insert(r.root)
                if r.topLevel && r.kind == .variable { required.insert(r.root) }
            }
        }
        requiredVariables = required
        referencedVariables = referenced
        let hashed: JSON = [
            "messages": .array(messages.map { ["role": .string($0.role), "content": .string($0.text)] }),
            "model": model.map(JSON.string) ?? .null, "params": .object(params), "output_schema": outputSchema ?? .null,
        ]
        contentHash = Hashing.sha256Hex(hashed.canonicalBytes)
    }

    /// `name@version`.
    public var id: String { "\(name)@\(version)" }

    /// The messages rendered with `variables`. A variable the templates need
    /// that is missing is a 400 naming it; values are inserted as text, never HTML-escaped.
    public func render(_ variables: JSONObject) throws(SluiceError) -> [JSON] {
        let missing = requiredVariables.filter { variables[$0] == nil }.sorted()
        if let first = missing.first {
            let given = variables.keys.sorted()
            throw .invalidRequest(
                "Prompt '\(name)' (\(version)) needs the variable\(missing.count == 1 ? "" : "s") "
                    + missing.map { "'\($0)'" }.joined(separator: ", ") + ", which "
                    + (missing.count == 1 ? "was" : "were") + " not given"
                    + (given.isEmpty ? " (no variables were given)." : "; given: \(given.joined(separator: ", ")).")
                    + " Pass \(missing.count == 1 ? "it" : "them") in \"variables\".",
                param: "variables.\(first)")
        }
        let context = Self.mustacheValue(.object(variables))
        return messages.map { m in ["role": .string(m.role), "content": .string(m.template.render(context))] }
    }

    /// Variables given but read by no template (a `prompts check` warning, and a log line at run time).
    public func unusedVariables(_ names: some Sequence<String>) -> [String] {
        names.filter { !referencedVariables.contains($0) }.sorted()
    }

    /// JSON as the values swift-mustache walks: dictionaries, arrays, strings, numbers, booleans.
    static func mustacheValue(_ json: JSON) -> Any {
        switch json {
        case .object(let o):
            var d: [String: Any] = [:]
            for (k, v) in o { d[k] = mustacheValue(v) }
            return d
        case .array(let a): return a.map(mustacheValue)
        case .string(let s): return s
        case .bool(let b): return b
        case .null: return String?.none as Any
        default:
            if let i = json.intValue { return i }
            return json.doubleValue ?? 0
        }
    }
}
