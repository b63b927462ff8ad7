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
            if let m = p.cache?.embeddingModel, !models.contains(m) {
                throw ConfigError(
                    path: "purposes.\(name).cache.embedding_model", line: nil,
                    "unknown model '\(m)'; configured models: \(models.sorted().joined(separator: ", "))")
            }
            if p.promptVersion != nil && p.prompt == nil {
                throw ConfigError(path: "purposes.\(name).prompt_version", line: nil, "prompt_version needs prompt")
            }
        }
    }

    /// Checks every purpose's prompt against the loaded library.
    public static func validatePrompts(_ c: SluiceConfig, library: PromptLibrary) throws {
        let models = Set(c.models.map(\.name))
        for (name, p) in c.purposes.sorted(by: { $0.key < $1.key }) {
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
        }
    }
}
