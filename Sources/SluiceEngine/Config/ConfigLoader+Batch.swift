import SluiceCore

extension ConfigLoader {
    /// Provider types whose batch APIs Sluice speaks: OpenAI Batch and Anthropic Message Batches.
    static let batchProviderTypes: Set<SluiceConfig.ProviderType> = [.openai, .anthropic]

    /// The first target of a configured model, in the order routing tries them (priority, then file order).
    static func firstTarget(_ c: SluiceConfig, model: String) -> SluiceConfig.Target? {
        c.models.first { $0.name == model }?.targets.enumerated()
            .min { ($0.element.priority, $0.offset) < ($1.element.priority, $1.offset) }?.element
    }

    /// A `mode: batch` purpose needs a model whose first target is an `openai` or `anthropic` provider,
    /// cannot redact personal data (the placeholders would have to outlive the process), and needs
    /// `tasks.batch_poll_s` below `tasks.timeout_s` (its tasks heartbeat once per poll).
    static func validateBatch(_ c: SluiceConfig, purpose name: String, model: String?) throws {
        guard let p = c.purposes[name], p.mode == .batch else { return }
        guard let model else {
            throw ConfigError(
                path: "purposes.\(name).mode", line: nil,
                "purpose '\(name)' has mode: batch but no model: set purposes.\(name).model (or a prompt that names one)")
        }
        guard let target = firstTarget(c, model: model), let provider = c.providers.first(where: { $0.name == target.provider }) else {
            return  // an unknown model or provider is reported by the model checks
        }
        guard batchProviderTypes.contains(provider.type) else {
            throw ConfigError(
                path: "purposes.\(name).mode", line: nil,
                "purpose '\(name)' has mode: batch, but its model '\(model)' goes first to provider '\(provider.name)' of type "
                    + "\(provider.type.rawValue), which has no batch API Sluice speaks; batch mode needs an openai or anthropic provider")
        }
        if p.pii == .redact {
            throw ConfigError(
                path: "purposes.\(name).pii", line: nil,
                "purpose '\(name)' has mode: batch, which cannot redact (the placeholders would have to outlive the process "
                    + "until the batch ends); use pii: block or off, or mode: sync")
        }
        if c.tasks.batchPollS >= c.tasks.timeoutS {
            throw ConfigError(
                path: "tasks.batch_poll_s", line: nil,
                "batch_poll_s (\(c.tasks.batchPollS) s) must be below timeout_s (\(c.tasks.timeoutS) s): a batch's tasks "
                    + "heartbeat once per poll, and would be timed out between polls")
        }
    }
}
