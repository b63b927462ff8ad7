import SluiceCore
import SluiceProviders

/// One resolved upstream target.
public struct ResolvedTarget: Sendable {
    /// The provider to call.
    public var provider: any Provider
    /// The upstream model id.
    public var model: String
    /// Relative chance among targets of equal priority.
    public var weight: Double
    /// Targets with the lowest value are chosen first.
    public var priority: Int
    /// `PROVIDER/MODEL`, the key of its circuit breaker.
    public let breakerKey: String

    /// A target; see the properties.
    public init(provider: any Provider, model: String, weight: Double, priority: Int) {
        self.provider = provider
        self.model = model
        self.weight = weight
        self.priority = priority
        breakerKey = BreakerBoard.key(provider: provider.name, model: model)
    }
}

/// Maps the model names clients send to upstream targets. Besides configured
/// names it resolves `PROVIDER/MODEL` to that provider directly.
public struct ModelCatalog: Sendable {
    private var models: [String: [ResolvedTarget]]
    /// Model names in config order.
    public let names: [String]
    private let providers: [String: any Provider]

    /// Resolves the configured models; targets naming a provider not in `providers` are dropped.
    public init(config: SluiceConfig, providers: [String: any Provider]) {
        var map: [String: [ResolvedTarget]] = [:]
        for (name, targets) in config.models {
            // Sorted once here (stable, so file order holds within a priority), not per call.
            map[name] = targets.compactMap { t in
                providers[t.provider].map { ResolvedTarget(provider: $0, model: t.model, weight: t.weight, priority: t.priority) }
            }.enumerated().sorted { ($0.element.priority, $0.offset) < ($1.element.priority, $1.offset) }.map(\.element)
        }
        models = map
        names = config.models.map(\.name)
        self.providers = providers
    }

    /// `PROVIDER/MODEL` of every configured target.
    public var targetKeys: [String] { models.values.flatMap { $0.map(\.breakerKey) } }

    /// The configured provider with this name.
    public func provider(named name: String) -> (any Provider)? { providers[name] }

    /// Whether `model` is a configured model name or the upstream model id of one of their targets.
    public func knows(model: String) -> Bool {
        models[model] != nil || models.values.contains { $0.contains { $0.model == model } }
    }

    /// The targets for a model name, in priority order.
    public func targets(for model: String) throws(SluiceError) -> [ResolvedTarget] {
        if let t = models[model] { return t }
        if let slash = model.firstIndex(of: "/") {
            let providerName = String(model[..<slash])
            let upstream = String(model[model.index(after: slash)...])
            if let p = providers[providerName], !upstream.isEmpty {
                return [ResolvedTarget(provider: p, model: upstream, weight: 1, priority: 1)]
            }
        }
        let known = names.prefix(20).joined(separator: ", ")
        throw SluiceError.invalidRequest(
            "Unknown model '\(model)'. Configured models: \(known). Use one of them, or PROVIDER/MODEL to address a provider directly.",
            param: "model")
    }
}
