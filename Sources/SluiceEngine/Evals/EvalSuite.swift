import Foundation
import SluiceCore
import Yams

/// An eval suite (`sluice eval run SUITE.yaml`): cases with variables and
/// expectations, run for a purpose (or a prompt and model) over a matrix of
/// prompt versions and models.
///
/// ```yaml
/// name: triage-golden
/// purpose: triage                 # or: prompt: triage + model: fast
/// variants: [v3, v4]              # prompt versions (or the purpose's arms); default: the live one
/// models: [fast, smart]           # optional matrix
/// repeat: 1                       # runs per case
/// cases:
///   - name: swift-job             # optional
///     vars: { title: "Swift engineer" }
///     expect:
///       - equals: { path: "$.label", value: "relevant" }
///       - judge: { rubric: "Is the label justified?", model: smart, min: 0.7 }
/// ```
public struct EvalSuite: Sendable {
    /// The suite's name (the file's name without extension when it sets none).
    public var name: String
    /// What the suite checks, for people.
    public var description: String?
    /// The purpose whose prompt, schema and policy the cases run with; `nil` for a `prompt:` suite.
    public var purpose: String?
    /// For a suite without a purpose: the prompt to render.
    public var prompt: String?
    /// The model when the suite gives no `models:` matrix (required for a `prompt:` suite whose prompt names none).
    public var model: String?
    /// The prompt versions (or names of the purpose's arms) to compare; empty means the live one.
    public var variants: [String]
    /// The models to compare; empty means the purpose's (or `model`, or the prompt's).
    public var models: [String]
    /// Runs per case.
    public var repeatCount: Int
    /// The cases, in file order.
    public var cases: [EvalCase]
    /// The file it was read from, when read from one.
    public var path: String?

    /// The keys a suite takes.
    public static let keys = ["name", "description", "purpose", "prompt", "model", "variants", "models", "repeat", "cases"]
    /// The keys a case takes.
    public static let caseKeys = ["name", "vars", "expect"]
    /// The most runs per case.
    public static let maxRepeat = 100

    /// A suite; see the properties.
    public init(
        name: String, purpose: String? = nil, prompt: String? = nil, model: String? = nil, variants: [String] = [],
        models: [String] = [], repeatCount: Int = 1, cases: [EvalCase] = []
    ) {
        self.name = name
        self.purpose = purpose
        self.prompt = prompt
        self.model = model
        self.variants = variants
        self.models = models
        self.repeatCount = repeatCount
        self.cases = cases
    }

    /// Reads and parses the suite at `path`; throws a ``ConfigError`` naming the key and line.
    public static func load(path: String) throws -> EvalSuite {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(path: nil, line: nil, "cannot read eval suite '\(path)'")
        }
        let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        var suite = try parse(String(decoding: data, as: UTF8.self), defaultName: stem)
        suite.path = path
        return suite
    }

    /// Parses suite YAML; throws a ``ConfigError`` naming the key and line.
    public static func parse(_ yaml: String, defaultName: String = "suite") throws -> EvalSuite {
        let node: Node?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch let e as YamlError {
            throw ConfigError(path: nil, line: nil, "invalid YAML: \(e)")
        }
        guard let node else { throw ConfigError(path: nil, line: nil, "the suite is empty; it needs cases:") }
        let root = ConfigNode(node: node, path: "", env: [:])
        var suite = EvalSuite(name: defaultName)
        var casesNode: ConfigNode?
        for (key, value) in try root.mapping(allowed: keys) {
            switch key {
            case "name": suite.name = try value.string()
            case "description": suite.description = try value.string()
            case "purpose": suite.purpose = try value.string()
            case "prompt": suite.prompt = try value.string()
            case "model": suite.model = try value.string()
            case "variants": suite.variants = try names(value)
            case "models": suite.models = try names(value)
            case "repeat":
                suite.repeatCount = try value.int()
                guard (1...maxRepeat).contains(suite.repeatCount) else { throw value.error("repeat must be from 1 to \(maxRepeat)") }
            case "cases": casesNode = value
            default: break
            }
        }
        switch (suite.purpose, suite.prompt) {
        case (nil, nil): throw root.error("a suite needs purpose: (a configured purpose) or prompt: (a prompt name, with model:)")
        case (.some, .some): throw root.error("give purpose: or prompt:, not both (a purpose already names its prompt)")
        default: break
        }
        if suite.model != nil && !suite.models.isEmpty {
            throw root.error("give model: or models:, not both")
        }
        guard let casesNode else { throw root.error("a suite needs cases: (a list of {vars, expect})") }
        let list = try casesNode.sequence()
        guard !list.isEmpty else { throw casesNode.error("cases is empty") }
        suite.cases = try list.enumerated().map { i, n in try parseCase(n, index: i + 1) }
        return suite
    }

    /// A list of distinct names (a single name is a list of one).
    static func names(_ n: ConfigNode) throws -> [String] {
        let list: [String]
        if case .scalar = n.node { list = [try n.string()] } else { list = try n.stringList() }
        var seen: Set<String> = []
        for name in list {
            guard !name.isEmpty else { throw n.error("names must not be empty") }
            guard seen.insert(name).inserted else { throw n.error("'\(name)' is listed twice") }
        }
        return list
    }

    static func parseCase(_ n: ConfigNode, index: Int) throws -> EvalCase {
        var c = EvalCase(index: index)
        for (key, value) in try n.mapping(allowed: caseKeys) {
            switch key {
            case "name": c.name = try value.string()
            case "vars":
                guard case .mapping = value.node else { throw value.error("vars must be a mapping of variable name to value") }
                c.vars = try value.json().objectValue ?? JSONObject()
            case "expect":
                for item in try value.sequence() {
                    for (kind, v) in try item.mapping(allowed: EvalExpectation.keys) { c.expect += try parseExpectation(kind, v) }
                }
            default: break
            }
        }
        return c
    }

    static func parseExpectation(_ kind: String, _ n: ConfigNode) throws -> [EvalExpectation] {
        switch kind {
        case "equals":
            var path = try JSONPath("$")
            var value: JSON?
            for (k, v) in try n.mapping(allowed: ["path", "value"]) {
                if k == "path" {
                    do { path = try JSONPath(try v.string()) } catch let e as JSONPathError { throw v.error(e.message) }
                } else {
                    value = try v.json()
                }
            }
            guard let value else { throw n.error("equals needs value: (and path:, default $, the whole answer)") }
            return [.equals(path: path, value: value)]
        case "contains":
            let texts = try names(n)
            return texts.map(EvalExpectation.contains)
        case "regex":
            let pattern = try n.string()
            do { _ = try NSRegularExpression(pattern: pattern) } catch { throw n.error("invalid regular expression /\(pattern)/") }
            return [.regex(pattern)]
        case "schema_valid":
            return [.schemaValid(try n.bool())]
        case "judge":
            var rubric: String?
            var model: String?
            var min = JudgeSpec.defaultMin
            for (k, v) in try n.mapping(allowed: ["rubric", "model", "min"]) {
                switch k {
                case "rubric": rubric = try v.string()
                case "model": model = try v.string()
                default:
                    min = try v.double()
                    guard (0...1).contains(min) else { throw v.error("min must be a score from 0 to 1") }
                }
            }
            guard let rubric, !rubric.isEmpty else { throw n.error("judge needs rubric: (what the judge checks)") }
            guard let model else { throw n.error("judge needs model: (the configured model that judges)") }
            return [.judge(JudgeSpec(rubric: rubric, model: model, min: min))]
        case "max_cost_usd":
            let v = try n.double()
            guard v >= 0 else { throw n.error("max_cost_usd must not be negative") }
            return [.maxCostUSD(v)]
        default:
            let v = try n.double()
            guard v > 0 else { throw n.error("max_latency_ms must be positive") }
            return [.maxLatencyMs(v)]
        }
    }
}

/// One case of a suite: the template variables and what the answer must satisfy.
public struct EvalCase: Sendable {
    /// 1-based position in the suite.
    public var index: Int
    /// An optional name for reports.
    public var name: String?
    /// The template variables.
    public var vars: JSONObject
    /// The expectations, in file order.
    public var expect: [EvalExpectation]

    /// A case; see the properties.
    public init(index: Int, name: String? = nil, vars: JSONObject = JSONObject(), expect: [EvalExpectation] = []) {
        self.index = index
        self.name = name
        self.vars = vars
        self.expect = expect
    }

    /// `case 3` or `case 3 (swift-job)`.
    public var label: String { name.map { "case \(index) (\($0))" } ?? "case \(index)" }
}
