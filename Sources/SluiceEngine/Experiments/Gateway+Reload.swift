import Foundation
import SluiceCore

/// What a reload applied, and what it could not.
public struct ReloadReport: Sendable {
    /// The prompt library now in force.
    public var prompts: PromptLibrary
    /// The purposes now configured.
    public var purposes: [String]
    /// Config sections that changed but take effect only after a restart.
    public var restartRequired: [String]
    /// Live flags that no longer apply to the new config (they stay stored and change nothing).
    public var flagWarnings: [String]
}

extension Gateway {
    /// Reads the config file and the prompt files again and swaps both in at once.
    /// A config or prompt set that does not load is refused (thrown) and the old one stays.
    /// Reloaded live: purposes (prompt, version, model, params, variants, shadow, cache,
    /// schema, guards, review, budgets, retry and timeouts), prompts and the scheduled
    /// `evals:` (the scheduler reads them live); sections such as
    /// providers, models, keys, server and storage are reported as needing a restart.
    public func reload() throws -> ReloadReport {
        let old = live.snapshot.base
        let fresh = try configSource?() ?? old
        let library = try Self.loadPrompts(fresh)
        live.replaceBase(fresh, prompts: library)
        budget.replaceDailyCaps(fresh)
        let report = ReloadReport(
            prompts: library, purposes: fresh.purposes.keys.sorted(), restartRequired: Self.restartSections(old, fresh),
            flagWarnings: flagWarnings(fresh, library: library))
        logger.info(
            "config reloaded",
            metadata: [
                "prompts": "\(library.all.count)", "purposes": "\(report.purposes.count)",
                "restart_required": "\(report.restartRequired.joined(separator: ","))",
            ])
        return report
    }

    /// Flags whose purpose, model or prompt version the config no longer has.
    func flagWarnings(_ config: SluiceConfig, library: PromptLibrary) -> [String] {
        var out: [String] = []
        let models = Set(config.models.map(\.name))
        for (key, value) in live.snapshot.flags.sorted(by: { $0.key < $1.key }) {
            guard let (purpose, name) = FlagKey.split(key), name != .disabled else { continue }
            guard let p = config.purposes[purpose] else {
                out.append("\(key): purpose '\(purpose)' is no longer configured")
                continue
            }
            if name == .variants, let arms = try? Variant.parseList(value),
                let problem = ConfigLoader.variantProblem(arms, purpose: p, library: library, models: models)
            {
                out.append("\(key): \(problem)")
            }
            if name == .model, let m = value.stringValue, !models.contains(m) { out.append("\(key): model '\(m)' is no longer configured") }
        }
        return out
    }

    /// The sections that differ between `old` and `new` and are read only at start.
    static func restartSections(_ old: SluiceConfig, _ new: SluiceConfig) -> [String] {
        var out: [String] = []
        if old.server != new.server { out.append("server") }
        if old.storage != new.storage { out.append("storage") }
        func keys(_ c: SluiceConfig) -> [String] {
            c.auth.keys.map { "\($0.name)|\($0.key)|\($0.purposes)|\(String(describing: $0.monthlyBudgetUSD))|\(String(describing: $0.rpm))|\(String(describing: $0.tpm))" }
        }
        if old.auth.adminKey != new.auth.adminKey || keys(old) != keys(new) { out.append("auth") }
        func providers(_ c: SluiceConfig) -> [String] {
            c.providers.map {
                "\($0.name)|\($0.type)|\($0.baseURL ?? "")|\($0.apiKey ?? "")|\($0.headers.map { "\($0.0)=\($0.1)" })|\($0.timeoutMs)|\($0.connectTimeoutMs)|\(String(describing: $0.readTimeoutMs))|\($0.apiVersion ?? "")|\($0.latencyMs)|\($0.chunkMs)|\($0.caFile ?? "")"
                    + ($0.bedrock.map { "|\($0.region)|\($0.credentials.accessKeyID)|\($0.credentials.secretAccessKey)|\($0.credentials.sessionToken ?? "")" } ?? "")
                    + ($0.vertex?.fingerprint ?? "")
                    + $0.apiKeys.map { "|\($0.name)=\($0.key)*\($0.weight)" }.joined()
            }
        }
        if providers(old) != providers(new) { out.append("providers") }
        if old.models.map(\.name) != new.models.map(\.name) || old.models.map(\.targets) != new.models.map(\.targets) { out.append("models") }
        if old.pricing != new.pricing { out.append("pricing") }
        if old.tasks != new.tasks { out.append("tasks") }
        if old.cache != new.cache { out.append("cache") }
        if old.breaker != new.breaker { out.append("breaker") }
        if old.tracing != new.tracing { out.append("tracing") }
        if old.responses != new.responses { out.append("responses") }
        return out
    }
}
