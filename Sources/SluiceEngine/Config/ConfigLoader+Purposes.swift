import Foundation
import SluiceCore

extension ConfigLoader {
    /// A purpose's `cache: {ttl, semantic, threshold, embedding_model, max_entries}`.
    static func parseCachePolicy(_ n: ConfigNode) throws -> SluiceConfig.CachePolicy {
        var ttl: Double?
        var semantic = false
        var threshold = 0.95
        var model: String?
        var maxEntries = 10_000
        for (k, v) in try n.mapping(allowed: ["ttl", "semantic", "threshold", "embedding_model", "max_entries"]) {
            switch k {
            case "ttl":
                guard let s = SluiceConfig.seconds(try v.string()) else { throw v.error("ttl must be a duration such as 90s, 30m, 1h or 7d") }
                ttl = s
            case "semantic": semantic = try v.bool()
            case "threshold":
                threshold = try v.double()
                guard threshold > 0, threshold <= 1 else { throw v.error("threshold must be a cosine similarity in (0, 1]") }
            case "embedding_model": model = try v.string()
            case "max_entries":
                maxEntries = try v.int()
                guard maxEntries > 0 else { throw v.error("max_entries must be positive") }
            default: break
            }
        }
        guard let ttl else { throw n.error("cache needs a ttl (such as 1h or 7d)") }
        if semantic && model == nil { throw n.error("a semantic cache needs embedding_model: the configured model that embeds inputs") }
        var p = SluiceConfig.CachePolicy(ttlSeconds: ttl)
        p.semantic = semantic
        p.threshold = threshold
        p.embeddingModel = model
        p.maxEntries = maxEntries
        return p
    }

    /// The top-level `cache: {max_bytes, default_ttl}`.
    static func parseCache(_ n: ConfigNode) throws -> SluiceConfig.Cache {
        var c = SluiceConfig.Cache()
        for (k, v) in try n.mapping(allowed: ["max_bytes", "default_ttl"]) {
            switch k {
            case "max_bytes":
                c.maxBytes = try v.int()
                guard c.maxBytes >= 0 else { throw v.error("max_bytes must not be negative (0 keeps nothing in memory)") }
            case "default_ttl":
                guard let s = SluiceConfig.seconds(try v.string()) else { throw v.error("default_ttl must be a duration such as 1h") }
                c.defaultTTLSeconds = s
            default: break
            }
        }
        return c
    }

    /// Purposes name configured models; models named by purposes or prompts must exist.
    static func validatePurposes(_ c: SluiceConfig) throws {
        let models = Set(c.models.map(\.name))
        for (name, p) in c.purposes.sorted(by: { $0.key < $1.key }) {
            if let m = p.model, !models.contains(m) {
                throw ConfigError(
                    path: "purposes.\(name).model", line: nil,
                    "unknown model '\(m)'; configured models: \(models.sorted().joined(separator: ", "))")
            }
            if let d = p.driftEmbedding, !models.contains(d.model) {
                throw ConfigError(
                    path: "purposes.\(name).drift.embedding_model", line: nil,
                    "unknown model '\(d.model)'; configured models: \(models.sorted().joined(separator: ", "))")
            }
            if let j = p.cascadeJudge, !models.contains(j.model) {
                throw ConfigError(
                    path: "purposes.\(name).cascade.judge", line: nil,
                    "unknown model '\(j.model)'; configured models: \(models.sorted().joined(separator: ", "))")
            }
            for rule in p.guards.input + p.guards.output {
                let model: String?
                switch rule.classifier {
                case .moderation(let m): model = m.model
                case .judge(let j): model = j.model
                default: model = nil
                }
                if let model, !models.contains(model) {
                    throw ConfigError(
                        path: "purposes.\(name).guards", line: nil,
                        "guard '\(rule.name)' names unknown model '\(model)'; configured models: \(models.sorted().joined(separator: ", "))")
                }
            }
            for m in p.cascade where !models.contains(m) {
                throw ConfigError(
                    path: "purposes.\(name).cascade", line: nil,
                    "unknown model '\(m)' in the cascade; configured models: \(models.sorted().joined(separator: ", "))")
            }
            if let m = p.model, let first = p.cascade.first, m != first {
                throw ConfigError(
                    path: "purposes.\(name).cascade", line: nil,
                    "the purpose's model '\(m)' is not the cascade's first model '\(first)'; leave model out (the cascade starts at its first) or list it first")
            }
            if let m = p.cache?.embeddingModel, !models.contains(m) {
                throw ConfigError(
                    path: "purposes.\(name).cache.embedding_model", line: nil,
                    "unknown model '\(m)'; configured models: \(models.sorted().joined(separator: ", "))")
            }
            if p.dailyBudgetUSD != nil, let m = p.model, let targets = c.models.first(where: { $0.name == m })?.targets {
                let prices = PriceTable(overrides: c.pricing)
                for t in targets where prices.price(target: t.model, answered: nil) == nil {
                    throw ConfigError(
                        path: "purposes.\(name).daily_budget_usd", line: nil,
                        "purpose '\(name)' has a budget but model '\(m)' has an unpriced target '\(t.provider)/\(t.model)': "
                            + "a budget cannot be enforced without a price; add '\(t.model)' under pricing:")
                }
            }
            if p.promptVersion != nil && p.prompt == nil {
                throw ConfigError(path: "purposes.\(name).prompt_version", line: nil, "prompt_version needs prompt")
            }
            try validateShadow(c, purpose: name)
            // A purpose with a prompt may take its model from the prompt: checked with the prompts.
            if p.model != nil || p.prompt == nil { try validateBatch(c, purpose: name, model: p.model) }
        }
    }

    /// What is wrong with `arms` for `purpose`: a prompt version that is not loaded, a model
    /// that is not configured, or arms without a prompt to version; `nil` when they can run.
    public static func variantProblem(
        _ arms: [Variant], purpose p: SluiceConfig.Purpose, library: PromptLibrary, models: Set<String>
    ) -> String? {
        for arm in arms {
            if let version = arm.promptVersion {
                guard let promptName = p.prompt else {
                    return "variant '\(arm.name)' names prompt version '\(version)' but purpose '\(p.name)' has no prompt"
                }
                guard let prompt = library.prompt(promptName, version: version) else {
                    let versions = library.versions(of: promptName).map(\.version)
                    return "variant '\(arm.name)': prompt '\(promptName)' has no version '\(version)'; versions: \(versions.joined(separator: ", "))"
                }
                if arm.model == nil, p.model == nil, prompt.model == nil {
                    return "variant '\(arm.name)': no model: set purposes.\(p.name).model or 'model' in \(prompt.path)"
                }
            }
            if let model = arm.model, !models.contains(model) {
                return "variant '\(arm.name)' names unknown model '\(model)'; configured models: \(models.sorted().joined(separator: ", "))"
            }
        }
        return nil
    }

    /// Checks every purpose's prompt against the loaded library.
    public static func validatePrompts(_ c: SluiceConfig, library: PromptLibrary) throws {
        let models = Set(c.models.map(\.name))
        for (name, p) in c.purposes.sorted(by: { $0.key < $1.key }) {
            if let problem = variantProblem(p.variants, purpose: p, library: library, models: models) {
                throw ConfigError(path: "purposes.\(name).variants", line: nil, problem)
            }
            if let shadow = p.shadow, let problem = shadowProblem(shadow, purpose: p, library: library, models: models) {
                throw ConfigError(path: "purposes.\(name).shadow", line: nil, problem)
            }
            guard let promptName = p.prompt else { continue }
            guard let prompt = library.prompt(promptName, version: p.promptVersion) else {
                let versions = library.versions(of: promptName).map(\.version)
                throw ConfigError(
                    path: "purposes.\(name).prompt", line: nil,
                    versions.isEmpty
                        ? "prompt '\(promptName)' not found: expected \(library.directory)/\(promptName).prompt.yaml or \(library.directory)/\(promptName)/VERSION.prompt.yaml"
                        : "prompt '\(promptName)' has no version '\(p.promptVersion ?? "")'; versions: \(versions.joined(separator: ", "))")
            }
            guard let model = p.model ?? prompt.model else {
                throw ConfigError(path: "purposes.\(name)", line: nil, "no model: set purposes.\(name).model or 'model' in \(prompt.path)")
            }
            if !models.contains(model) {
                throw ConfigError(path: "purposes.\(name)", line: nil, "prompt \(prompt.id) names unknown model '\(model)'")
            }
            try validateBatch(c, purpose: name, model: model)
        }
    }
}

extension ConfigLoader {
    /// An inline JSON Schema, or a path to a JSON file (relative to the config file), kept as
    /// `.string(path)` until ``resolveSchemaFiles(_:directory:)`` reads it.
    static func parseSchema(_ n: ConfigNode) throws -> JSON {
        if case .scalar = n.node { return .string(try n.string()) }
        let json = try n.json()
        guard json.objectValue != nil else { throw n.error("output_schema must be a JSON Schema object or a path to one") }
        return json
    }

    /// Reads schema files named by path, relative to `directory` (the working directory when `nil`).
    static func resolveSchemaFiles(_ c: inout SluiceConfig, directory: String?) throws {
        for (name, p) in c.purposes {
            guard let path = p.outputSchema?.stringValue else { continue }
            let base = directory.flatMap { $0.isEmpty ? nil : $0 } ?? FileManager.default.currentDirectoryPath
            let file = path.hasPrefix("/") ? path : (base as NSString).appendingPathComponent(path)
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ConfigError(path: "purposes.\(name).output_schema", line: nil, "schema file '\(file)' cannot be read")
            }
            guard let json = try? JSON.parse(Array(data)), json.objectValue != nil else {
                throw ConfigError(path: "purposes.\(name).output_schema", line: nil, "schema file '\(file)' is not a JSON object")
            }
            c.purposes[name]?.outputSchema = json
        }
    }

    /// `guards: {input: [rule…], output: [rule…]}`; a rule is
    /// `{name, action: block|flag, deny: [regex…], max_length, require: [word…], forbid: [word…]}`.
    static func parseGuards(_ n: ConfigNode) throws -> Guards {
        var g = Guards()
        for (side, list) in try n.mapping(allowed: ["input", "output"]) {
            let rules = try list.sequence().map { r throws -> GuardRule in
                var name: String?
                var rule = GuardRule(name: "")
                for (k, v) in try r.mapping(allowed: ["name", "action", "deny", "max_length", "require", "forbid", "webhook", "moderation", "judge"]) {
                    switch k {
                    case "name": name = try v.string()
                    case "action":
                        let a = try v.string()
                        guard let action = GuardRule.Action(rawValue: a) else { throw v.error("action must be block or flag; got '\(a)'") }
                        rule.action = action
                    case "deny":
                        let patterns = try (try? v.stringList()) ?? [v.string()]
                        rule.deny = try patterns.map { p in
                            do { return try NSRegularExpressionBox(p) } catch { throw v.error("'\(p)' is not a valid regular expression") }
                        }
                    case "max_length":
                        rule.maxLength = try v.int()
                        guard (rule.maxLength ?? 0) > 0 else { throw v.error("max_length must be positive") }
                    case "require": rule.require = try (try? v.stringList()) ?? [v.string()]
                    case "forbid": rule.forbid = try (try? v.stringList()) ?? [v.string()]
                    case "webhook", "moderation", "judge":
                        guard rule.classifier == nil else { throw v.error("a guard rule takes one classifier: webhook, moderation or judge") }
                        rule.classifier = try parseClassifier(k, v, rule: name ?? "")
                    default: break
                    }
                }
                guard let name, !name.isEmpty else { throw r.error("each guard rule needs a name") }
                rule.name = name
                guard !rule.deny.isEmpty || rule.maxLength != nil || !rule.require.isEmpty || !rule.forbid.isEmpty || rule.classifier != nil else {
                    throw r.error("guard '\(name)' checks nothing: give deny, max_length, require, forbid, or a classifier (webhook, moderation, judge)")
                }
                if rule.classifier != nil, !rule.deny.isEmpty || rule.maxLength != nil || !rule.require.isEmpty || !rule.forbid.isEmpty {
                    throw r.error("guard '\(name)' mixes a classifier with patterns: give them as two rules")
                }
                return rule
            }
            if side == "input" { g.input = rules } else { g.output = rules }
        }
        return g
    }

    /// `review: {when: never|always|schema_invalid|guard_flagged}`.
    static func parseReview(_ n: ConfigNode) throws -> SluiceConfig.ReviewWhen {
        var when = SluiceConfig.ReviewWhen.never
        for (_, v) in try n.mapping(allowed: ["when"]) {
            let text = try v.string()
            guard let w = SluiceConfig.ReviewWhen(rawValue: text) else {
                throw v.error("review.when must be never, always, schema_invalid or guard_flagged; got '\(text)'")
            }
            when = w
        }
        return when
    }
}
