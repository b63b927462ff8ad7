import SluiceCore

extension ConfigLoader {
    /// The name `api_key` takes when it sits in a pool beside `api_keys`.
    static let primaryKeyName = "default"

    /// `api_keys: [{name, key, weight}]` of provider `provider` as written; the pool itself
    /// (with `api_key`, when both are set) is checked by ``resolveKeyPool(_:written:node:)``.
    static func parseAPIKeys(_ n: ConfigNode, provider: String, type: SluiceConfig.ProviderType) throws -> [(SluiceConfig.PoolKey, ConfigNode)] {
        let pooled: Set<SluiceConfig.ProviderType> = [.openai, .openaiCompatible, .azureOpenAI, .anthropic, .gemini]
        guard pooled.contains(type) else {
            throw n.error(
                "provider '\(provider)': api_keys applies to openai, openai_compatible, azure_openai, anthropic and gemini "
                    + "providers, not \(type.rawValue)" + (type == .simulated ? "" : " (which authenticates with its cloud credentials)"))
        }
        let items = try n.sequence()
        guard !items.isEmpty else { throw n.error("provider '\(provider)': api_keys must list at least one {name, key} entry") }
        return try items.map { item in
            var key: String?
            var name: String?
            var weight = 1.0
            for (k, v) in try item.mapping(allowed: ["name", "key", "weight"]) {
                switch k {
                case "name": name = try v.string()
                case "key": key = try v.string()
                case "weight":
                    weight = try v.double()
                    guard weight > 0, weight.isFinite else {
                        throw v.error("provider '\(provider)': weight must be a positive number (a key's share of the calls); got \(weight)")
                    }
                default: break
                }
            }
            guard let key, !key.isEmpty else {
                throw item.error(
                    "provider '\(provider)': every api_keys entry needs a non-empty 'key' (for example key: ${OPENAI_KEY_2})")
            }
            if let name { try checkKeyName(name, provider: provider, node: item) }
            return (SluiceConfig.PoolKey(name: name ?? "", key: key, weight: weight), item)
        }
    }

    /// A key name Sluice can show as a metrics label: 1–64 letters, digits, `-`, `_` or `.`.
    static func checkKeyName(_ name: String, provider: String, node: ConfigNode) throws {
        guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
        else {
            throw node.error(
                "provider '\(provider)': key name '\(name)' must be 1 to 64 letters, digits, '-', '_' or '.' "
                    + "(it is shown in /admin/breakers, /metrics and call records; the secret never is)")
        }
    }

    /// Builds `p.apiKeys` from `api_keys` (`written`) and `api_key`: when both are set, `api_key`
    /// joins the pool first, named `default`. Names are required when the pool has several
    /// keys and must be unique; the same secret twice is an error. `p.apiKey` becomes the
    /// pool's first key (what batch submissions use).
    static func resolveKeyPool(_ p: inout SluiceConfig.Provider, written: [(SluiceConfig.PoolKey, ConfigNode)], node: ConfigNode) throws {
        guard !written.isEmpty else { return }
        var pool: [(SluiceConfig.PoolKey, ConfigNode)] = []
        if let single = p.apiKey { pool.append((SluiceConfig.PoolKey(name: primaryKeyName, key: single), node)) }
        pool += written
        if pool.count == 1, pool[0].0.name.isEmpty { pool[0].0.name = primaryKeyName }
        var names: [String: Int] = [:]
        var secrets: [String: String] = [:]
        for (i, (key, n)) in pool.enumerated() {
            guard !key.name.isEmpty else {
                throw n.error(
                    "provider '\(p.name)': api_keys entry \(i - (p.apiKey == nil ? 0 : 1)) needs a 'name' when the provider has "
                        + "several keys (it names the key in /admin/breakers, /metrics and call records)")
            }
            if names[key.name] != nil {
                let clash = key.name == primaryKeyName && p.apiKey != nil ? " ('\(primaryKeyName)' is the name api_key takes beside api_keys)" : ""
                throw n.error("provider '\(p.name)': two keys are named '\(key.name)'\(clash); key names must be unique within a provider")
            }
            if let other = secrets[key.key] {
                throw n.error("provider '\(p.name)': keys '\(other)' and '\(key.name)' are the same secret; list each key once")
            }
            names[key.name] = i
            secrets[key.key] = key.name
        }
        p.apiKeys = pool.map(\.0)
        p.apiKey = p.apiKeys.first?.key
    }
}
