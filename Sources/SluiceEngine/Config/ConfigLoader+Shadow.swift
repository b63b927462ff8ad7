import Foundation
import SluiceCore

extension ConfigLoader {
    /// A purpose's `shadow: {prompt_version?, model?, sample, daily_budget_usd?, max_concurrency?}`.
    static func parseShadow(_ n: ConfigNode) throws -> SluiceConfig.Shadow {
        // Unknown keys first, so that the error carries the key's line.
        _ = try n.mapping(allowed: SluiceConfig.Shadow.keys)
        let json = try n.json()
        do { return try SluiceConfig.Shadow.parse(json) } catch { throw n.error(error.message) }
    }

    /// The shadow's model must be configured, and priced when the shadow has a budget.
    static func validateShadow(_ c: SluiceConfig, purpose name: String) throws {
        guard let p = c.purposes[name], let shadow = p.shadow else { return }
        let models = Set(c.models.map(\.name))
        if let m = shadow.model, !models.contains(m) {
            throw ConfigError(
                path: "purposes.\(name).shadow.model", line: nil,
                "unknown model '\(m)'; configured models: \(models.sorted().joined(separator: ", "))")
        }
        if shadow.promptVersion != nil && p.prompt == nil {
            throw ConfigError(
                path: "purposes.\(name).shadow.prompt_version", line: nil,
                "a shadow prompt_version needs the purpose's prompt: set purposes.\(name).prompt, or shadow a model only")
        }
        if shadow.dailyBudgetUSD != nil, let m = shadow.model ?? p.model, let targets = c.models.first(where: { $0.name == m })?.targets {
            let prices = PriceTable(overrides: c.pricing)
            for t in targets where prices.price(target: t.model, answered: nil) == nil {
                throw ConfigError(
                    path: "purposes.\(name).shadow.daily_budget_usd", line: nil,
                    "the shadow of '\(name)' has a budget but model '\(m)' has an unpriced target '\(t.provider)/\(t.model)'; add '\(t.model)' under pricing:")
            }
        }
    }

    /// What is wrong with `shadow` for purpose `p` against the loaded prompts: a prompt version
    /// that is not loaded, or no model to call; `nil` when it can run.
    public static func shadowProblem(
        _ shadow: SluiceConfig.Shadow, purpose p: SluiceConfig.Purpose, library: PromptLibrary, models: Set<String>
    ) -> String? {
        if let m = shadow.model, !models.contains(m) {
            return "shadow model '\(m)' is not configured; configured models: \(models.sorted().joined(separator: ", "))"
        }
        guard let version = shadow.promptVersion else { return nil }
        guard let promptName = p.prompt else {
            return "shadow prompt_version '\(version)' needs the purpose's prompt; purpose '\(p.name)' has none"
        }
        guard let prompt = library.prompt(promptName, version: version) else {
            let versions = library.versions(of: promptName).map(\.version)
            return "shadow prompt_version '\(version)': prompt '\(promptName)' has no such version; versions: \(versions.joined(separator: ", "))"
        }
        guard let model = shadow.model ?? p.model ?? prompt.model else {
            return "shadow prompt_version '\(version)': no model: set shadow.model, purposes.\(p.name).model or 'model' in \(prompt.path)"
        }
        if !models.contains(model) { return "shadow prompt \(prompt.id) names unknown model '\(model)'" }
        return nil
    }
}
