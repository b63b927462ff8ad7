import SluiceCore

/// A suite resolved against the config and the prompt files: the variant ×
/// model cells to run, each with its prompt version and model. Everything that
/// can be wrong with a suite before a call is made is found here.
public struct EvalPlan: Sendable {
    /// One variant × model of the matrix.
    public struct Cell: Sendable, Equatable {
        /// The variant's name as the suite gives it (a prompt version, or an arm of the purpose);
        /// ``live`` when the suite lists none, so that a baseline compares whatever version is live.
        public var variant: String
        /// The prompt version it renders.
        public var promptVersion: String
        /// The configured model it calls.
        public var model: String
        /// Whether its answers are checked against an output schema (the purpose's or the prompt's).
        public var hasSchema: Bool
    }

    /// The suite.
    public let suite: EvalSuite
    /// The cells, variants outer, models inner.
    public let cells: [Cell]
    /// The purpose its calls are recorded under (`PURPOSE:eval`, or `eval` for a prompt suite).
    public let callPurpose: String
    /// The prompt name.
    public let promptName: String

    /// Resolves `suite`. `variants` and `models` (from the command line) restrict the
    /// matrix: when the suite lists variants (models), each must be one of them;
    /// when it lists none, they name any prompt version (configured model).
    /// Throws an ``EvalError`` that says what is wrong.
    public static func make(
        suite: EvalSuite, config: SluiceConfig, prompts: PromptLibrary, variants onlyVariants: [String] = [],
        models onlyModels: [String] = []
    ) throws(EvalError) -> EvalPlan {
        let configured = Set(config.models.map(\.name))
        let modelList = configured.sorted().joined(separator: ", ")
        var purpose: SluiceConfig.Purpose?
        let promptName: String
        if let name = suite.purpose {
            guard let p = config.purposes[name] else {
                let known = config.purposes.keys.sorted()
                throw EvalError("unknown purpose '\(name)'; configured purposes: \(known.isEmpty ? "none" : known.joined(separator: ", "))")
            }
            guard let prompt = p.prompt else {
                throw EvalError("purpose '\(name)' has no prompt to render the cases' vars with; set purposes.\(name).prompt")
            }
            purpose = p
            promptName = prompt
        } else {
            promptName = suite.prompt ?? ""
        }
        guard prompts.liveVersion(of: promptName) != nil else {
            throw EvalError("prompt '\(promptName)' is not loaded from \(prompts.directory); prompts: \(prompts.names.joined(separator: ", "))")
        }
        let variants = try pick(onlyVariants, from: suite.variants, what: "variant")
        let models = try pick(onlyModels, from: suite.models, what: "model")
        var cells: [Cell] = []
        for variant in variants.isEmpty ? [nil] : variants.map(Optional.some) {
            let arm = variant.flatMap { v in purpose?.variants.first { $0.name == v } }
            let version = arm.map { $0.promptVersion ?? purpose?.promptVersion } ?? variant ?? purpose?.promptVersion
            guard let prompt = prompts.prompt(promptName, version: version) else {
                let versions = prompts.versions(of: promptName).map(\.version).joined(separator: ", ")
                throw EvalError("variant '\(variant ?? version ?? "")': prompt '\(promptName)' has no version '\(version ?? "")'; versions: \(versions)")
            }
            for model in models.isEmpty ? [nil] : models.map(Optional.some) {
                guard let m = model ?? arm?.model ?? suite.model ?? purpose?.model ?? prompt.model else {
                    throw EvalError("no model for \(prompt.id): give the suite models: or model:, or set 'model' in \(prompt.path)")
                }
                guard configured.contains(m) else { throw EvalError("unknown model '\(m)'; configured models: \(modelList)") }
                let schema = purpose?.outputSchema ?? prompt.outputSchema
                cells.append(Cell(variant: variant ?? Self.live, promptVersion: prompt.version, model: m, hasSchema: schema != nil))
                try check(suite, prompt: prompt, schema: schema, models: configured)
            }
        }
        return EvalPlan(
            suite: suite, cells: cells, callPurpose: suite.purpose.map(EvalNames.purpose(of:)) ?? EvalNames.promptPurpose,
            promptName: promptName)
    }

    /// `only` when given (each one of `listed`, when the suite lists any), else `listed`.
    static func pick(_ only: [String], from listed: [String], what: String) throws(EvalError) -> [String] {
        guard !only.isEmpty else { return listed }
        if !listed.isEmpty {
            for name in only where !listed.contains(name) {
                throw EvalError("--\(what) \(name) is not in the suite's \(what)s: \(listed.joined(separator: ", "))")
            }
        }
        var seen: Set<String> = []
        return only.filter { seen.insert($0).inserted }
    }

    /// Each case gives the prompt's required variables; judges name configured models;
    /// `schema_valid` has a schema to check.
    static func check(_ suite: EvalSuite, prompt: Prompt, schema: JSON?, models: Set<String>) throws(EvalError) {
        for c in suite.cases {
            let missing = prompt.requiredVariables.subtracting(c.vars.keys).sorted()
            if !missing.isEmpty {
                throw EvalError("\(c.label): vars lack \(missing.joined(separator: ", ")), which \(prompt.id) needs")
            }
            for e in c.expect {
                switch e {
                case .judge(let spec) where !models.contains(spec.model):
                    throw EvalError("\(c.label): judge model '\(spec.model)' is not configured; configured models: \(models.sorted().joined(separator: ", "))")
                case .schemaValid where schema == nil:
                    throw EvalError("\(c.label): schema_valid needs an output schema, and neither the purpose nor \(prompt.id) has one")
                default: break
                }
            }
        }
    }

    /// The variant name of a suite that lists none: the prompt version live now.
    public static let live = "live"

    /// Runs in all: cells × cases × repeat.
    public var totalRuns: Int { cells.count * suite.cases.count * suite.repeatCount }
}

/// A suite that cannot run against this config; the message says why.
public struct EvalError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    /// An error with this message.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}
