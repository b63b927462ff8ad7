import SluiceCore
import SluiceProviders

/// Providers' key pools (`api_keys:`): built from the config, read by `/admin/breakers` and `/metrics`.
extension Gateway {
    /// The pool of `p`'s `api_keys`, deciding by `clock`; `nil` when it has a single key.
    static func keyPool(_ p: SluiceConfig.Provider, clock: any WallClock) -> SharedKeyPool? {
        guard !p.apiKeys.isEmpty else { return nil }
        return SharedKeyPool(
            provider: p.name, keys: p.apiKeys.map { SharedKeyPool.Key(name: $0.name, secret: $0.key, weight: $0.weight) },
            clock: clock)
    }

    /// The key pools of the configured providers, in config order.
    static func keyPools(_ config: SluiceConfig, _ catalog: ModelCatalog) -> [SharedKeyPool] {
        config.providers.compactMap { catalog.provider(named: $0.name)?.keyPool }
    }

    /// The key pools of this gateway's providers, in config order.
    public var keyPools: [SharedKeyPool] { Self.keyPools(config, catalog) }
}
