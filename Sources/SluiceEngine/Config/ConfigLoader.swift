import Foundation
import SluiceCore
import SluiceProviders
import SluiceStore
import Yams

/// Reads the YAML config (or the built-in defaults) into a validated ``SluiceConfig``.
public enum ConfigLoader {
    /// Sections of the SPEC skeleton that later versions implement.
    static let later: [String: String] = [:]

    /// Loads `path`, or the defaults when `path` is nil.
    public static func load(path: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SluiceConfig {
        guard let path else { return try defaults(environment: environment) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(path: nil, line: nil, "cannot read config file '\(path)'")
        }
        return try parse(
            String(decoding: data, as: UTF8.self), environment: environment, directory: (path as NSString).deletingLastPathComponent)
    }

    /// The no-config start: a simulated provider with `sim-small` and `sim-large`,
    /// plus `openai` when `OPENAI_API_KEY` is set.
    public static func defaults(environment: [String: String]) throws -> SluiceConfig {
        var c = SluiceConfig()
        addDefaultProviders(&c, environment: environment)
        addImplicitModels(&c)
        return c
    }

    static func addDefaultProviders(_ c: inout SluiceConfig, environment: [String: String]) {
        c.providers.append(SluiceConfig.Provider(name: "sim", type: .simulated))
        if let key = environment["OPENAI_API_KEY"], !key.isEmpty {
            var p = SluiceConfig.Provider(name: "openai", type: .openai)
            p.apiKey = key
            c.providers.append(p)
        }
        if let key = environment["ANTHROPIC_API_KEY"], !key.isEmpty {
            var p = SluiceConfig.Provider(name: "anthropic", type: .anthropic)
            p.apiKey = key
            c.providers.append(p)
        }
    }

    /// Adds `sim-small` / `sim-large` for the first simulated provider when the config does not define them.
    static func addImplicitModels(_ c: inout SluiceConfig) {
        guard let sim = c.providers.first(where: { $0.type == .simulated }) else { return }
        for m in SimulatedProvider.models where !c.models.contains(where: { $0.name == m }) {
            c.models.append((m, [SluiceConfig.Target(provider: sim.name, model: m)]))
        }
    }

    /// Parses and validates YAML text.
    public static func parse(_ yaml: String, environment: [String: String], directory: String? = nil) throws -> SluiceConfig {
        let node: Node?
        let (text, refs) = try ConfigNode.extractReferences(yaml)
        do {
            node = try Yams.compose(yaml: text)
        } catch let e as YamlError {
            throw ConfigError(path: nil, line: nil, "invalid YAML: \(e)")
        }
        var c = SluiceConfig()
        c.configDirectory = directory
        guard let node else {
            addDefaultProviders(&c, environment: environment)
            addImplicitModels(&c)
            return c
        }
        let root = ConfigNode(node: node, path: "", env: environment, refs: refs)
        var sawProviders = false
        for (key, value) in try root.mapping(
            allowed: [
                "server", "storage", "auth", "providers", "models", "pricing", "retry", "breaker", "purposes", "prompts_dir",
                "cache", "refusal_phrases", "alerts", "tasks", "evals", "tracing", "responses", "teams", "end_users",
                "review",
            ],
            later: later)
        {
            switch key {
            case "server": c.server = try parseServer(value)
            case "storage": c.storage = try parseStorage(value)
            case "auth": c.auth = try parseAuth(value)
            case "providers":
                sawProviders = true
                c.providers = try value.mapping().map { try parseProvider(name: $0, $1, directory: directory) }
            case "models": c.models = try parseModels(value)
            case "pricing": c.pricing = try parsePricing(value)
            case "retry": c.retry = try parseRetry(value)
            case "breaker": c.breaker = try parseBreaker(value)
            case "purposes": c.purposes = try parsePurposes(value)
            case "prompts_dir": c.promptsDir = try value.string()
            case "cache": c.cache = try parseCache(value)
            case "refusal_phrases": c.refusalPhrases = try value.stringList()
            case "alerts": c.alerts = try parseAlerts(value)
            case "tasks": c.tasks = try parseTasks(value)
            case "evals": c.evals = try parseEvals(value, directory: directory)
            case "tracing": c.tracing = try parseTracing(value)
            case "responses": c.responses = try parseResponses(value)
            case "teams": c.teams = try parseTeams(value)
            case "end_users": c.endUsers = try parseLimits(value, of: "end_users")
            case "review": c.review = try parseReview(value)
            default: break
            }
        }
        if !sawProviders { addDefaultProviders(&c, environment: environment) }
        try validateModels(c, root: root)
        c.warnings += unpinnedModelWarnings(c)
        c.warnings += taskWebhookWarnings(c)
        addImplicitModels(&c)
        try validatePurposes(c)
        try resolveSchemaFiles(&c, directory: directory)
        return c
    }

    static func parseServer(_ n: ConfigNode) throws -> SluiceConfig.Server {
        var s = SluiceConfig.Server()
        for (k, v) in try n.mapping(allowed: ["host", "port", "max_body_bytes", "auth_failures_per_minute"]) {
            switch k {
            case "host": s.host = try v.string()
            case "port":
                s.port = try v.int()
                guard (0...65535).contains(s.port) else { throw v.error("port must be between 0 and 65535") }
            case "max_body_bytes":
                s.maxBodyBytes = try v.int()
                guard s.maxBodyBytes > 0 else { throw v.error("max_body_bytes must be positive") }
            case "auth_failures_per_minute":
                s.authFailuresPerMinute = try v.int()
                guard s.authFailuresPerMinute >= 0 else {
                    throw v.error("auth_failures_per_minute must be 0 (off) or a positive number of failed authentications per address")
                }
            default: break
            }
        }
        return s
    }

    /// `responses: { retention_days }`.
    static func parseResponses(_ n: ConfigNode) throws -> SluiceConfig.Responses {
        var r = SluiceConfig.Responses()
        for (k, v) in try n.mapping(allowed: ["retention_days"]) where k == "retention_days" {
            r.retentionDays = try v.double()
            guard r.retentionDays > 0 else {
                throw v.error(
                    "retention_days must be a positive number of days, got '\(try v.string())'; stored responses are deleted that long after they were created (default 30)")
            }
            guard r.retentionDays <= 36_500 else { throw v.error("retention_days must be at most 36500 (100 years)") }
        }
        return r
    }

    static func parseStorage(_ n: ConfigNode) throws -> SluiceConfig.Storage {
        var s = SluiceConfig.Storage()
        for (k, v) in try n.mapping(allowed: ["url", "log_bodies", "encryption_key"]) {
            switch k {
            case "url":
                switch StorageURL.parse(try v.string()) {
                case .success(let u): s.url = u
                case .failure(let e): throw v.error(e.message)
                }
            case "log_bodies":
                let text = try v.string()
                guard let mode = SluiceConfig.LogBodies(rawValue: text) else {
                    throw v.error("expected one of full, redacted, hash; got '\(text)'")
                }
                s.logBodies = mode
            case "encryption_key":
                switch EncryptionKey.parse(base64: try v.string()) {
                case .success(let key): s.encryptionKey = key
                case .failure(let e): throw v.error(e.message)
                }
            default: break
            }
        }
        return s
    }

    static func parseAuth(_ n: ConfigNode) throws -> SluiceConfig.Auth {
        var a = SluiceConfig.Auth()
        for (k, v) in try n.mapping(allowed: ["admin_key", "keys"]) {
            switch k {
            case "admin_key": a.adminKey = try v.string()
            case "keys":
                for item in try v.sequence() {
                    var name: String?, key: String?, purposes = ["*"], team: String?
                    let keyFields = ["name", "key", "purposes", "team"]
                    for (ik, iv) in try item.mapping(allowed: keyFields + SluiceConfig.Limits.fields) {
                        switch ik {
                        case "name": name = try iv.string()
                        case "key": key = try iv.string()
                        case "purposes": purposes = try iv.stringList()
                        case "team": team = try iv.string()
                        default: break
                        }
                    }
                    let limits = try parseLimits(item, of: "key", ignoring: keyFields)
                    guard let name, !name.isEmpty else { throw item.error("every key needs a 'name'") }
                    guard let key, key.count >= 8 else { throw item.error("key '\(name)' needs a 'key' of at least 8 characters") }
                    if a.keys.contains(where: { $0.name == name }) { throw item.error("duplicate key name '\(name)'") }
                    if let other = a.keys.first(where: { $0.key == key }) {
                        throw item.error("key '\(name)' has the same secret as key '\(other.name)'; every key needs its own")
                    }
                    var vk = SluiceConfig.VirtualKey(name: name, key: key, purposes: purposes)
                    vk.team = team
                    vk.dailyBudgetUSD = limits.dailyBudgetUSD
                    vk.monthlyBudgetUSD = limits.monthlyBudgetUSD
                    vk.rpm = limits.rpm
                    vk.tpm = limits.tpm
                    a.keys.append(vk)
                }
            default: break
            }
        }
        if let admin = a.adminKey, admin.count < 8 { throw n.error("admin_key must be at least 8 characters") }
        if let admin = a.adminKey, let k = a.keys.first(where: { $0.key == admin }) {
            throw n.error("key '\(k.name)' has the same secret as admin_key; the admin key must differ from every virtual key")
        }
        return a
    }

    /// One entry of `providers:`; a relative `ca_file` is resolved against `directory` (the config file's).
    static func parseProvider(name: String, _ n: ConfigNode, directory: String? = nil) throws -> SluiceConfig.Provider {
        let members = try n.mapping(
            allowed: [
                "type", "api_key", "base_url", "headers", "timeout_ms", "connect_timeout_ms", "read_timeout_ms", "latency_ms", "chunk_ms",
                "api_version", "ca_file", "api_keys",
            ] + bedrockKeys + vertexKeys)
        guard let typeNode = members.first(where: { $0.0 == "type" })?.1 else {
            throw n.error("provider '\(name)' needs a 'type' (\(SluiceConfig.ProviderType.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let typeText = try typeNode.string()
        guard let type = SluiceConfig.ProviderType(rawValue: typeText) else {
            throw typeNode.error("unknown provider type '\(typeText)'; expected one of \(SluiceConfig.ProviderType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var p = SluiceConfig.Provider(name: name, type: type)
        var pooled: [(SluiceConfig.PoolKey, ConfigNode)] = []  // api_keys, resolved below (ConfigLoader+KeyPools)
        for (k, v) in members {
            switch k {
            case _ where bedrockKeys.contains(k): break  // bedrockSettings, below
            case _ where vertexKeys.contains(k): break  // vertexSettings, below
            case "api_key": p.apiKey = try v.string()
            case "api_keys": pooled = try parseAPIKeys(v, provider: name, type: type)
            case "base_url":
                let url = try v.string()
                guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                    throw v.error("base_url must start with http:// or https://")
                }
                p.baseURL = url
            case "headers": p.headers = try v.stringMap()
            case "timeout_ms":
                p.timeoutMs = try v.int()
                guard p.timeoutMs > 0 else { throw v.error("timeout_ms must be positive") }
            case "connect_timeout_ms":
                p.connectTimeoutMs = try v.int()
                guard p.connectTimeoutMs > 0 else { throw v.error("connect_timeout_ms must be positive") }
            case "read_timeout_ms":
                let ms = try v.int()
                guard ms > 0 else { throw v.error("read_timeout_ms must be positive") }
                p.readTimeoutMs = ms
            case "api_version":
                guard type == .azureOpenAI else { throw v.error("'api_version' applies only to azure_openai providers") }
                let version = try v.string()
                guard !version.isEmpty, version.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }) else {
                    throw v.error("api_version must look like 2024-10-21 or 2025-01-01-preview")
                }
                p.apiVersion = version
            case "ca_file":
                guard type != .simulated else { throw v.error("'ca_file' applies only to providers that call an upstream over HTTPS") }
                p.caFile = try caFile(try v.string(), provider: name, directory: directory, node: v)
            case "latency_ms", "chunk_ms":
                guard type == .simulated else { throw v.error("'\(k)' applies only to simulated providers") }
                let ms = try v.int()
                guard ms >= 0 else { throw v.error("\(k) must not be negative") }
                if k == "latency_ms" { p.latencyMs = ms } else { p.chunkMs = ms }
            default: break
            }
        }
        try resolveKeyPool(&p, written: pooled, node: n)
        if type == .openai, p.apiKey == nil { throw n.error("provider '\(name)' of type openai needs an api_key") }
        if type == .openaiCompatible, p.baseURL == nil { throw n.error("provider '\(name)' of type openai_compatible needs a base_url") }
        // `credentials` is both types' pool key: each checks it only on its own type.
        p.bedrock = try bedrockSettings(
            provider: name, type: type,
            keys: members.filter { bedrockKeys.contains($0.0) && (type != .vertex || !vertexKeys.contains($0.0)) }, apiKey: p.apiKey, n)
        p.vertex = try vertexSettings(
            provider: name, type: type,
            keys: members.filter { vertexKeys.contains($0.0) && (type != .bedrock || !bedrockKeys.contains($0.0)) }, apiKey: p.apiKey,
            directory: directory, n)
        if type == .gemini, p.apiKey == nil { throw n.error("provider '\(name)' of type gemini needs an api_key") }
        if type == .anthropic, p.apiKey == nil { throw n.error("provider '\(name)' of type anthropic needs an api_key") }
        if type == .azureOpenAI {
            guard p.baseURL != nil else {
                throw n.error("provider '\(name)' of type azure_openai needs a base_url (https://RESOURCE.openai.azure.com)")
            }
            guard p.apiKey != nil else { throw n.error("provider '\(name)' of type azure_openai needs an api_key") }
        }
        return p
    }

    /// `ca_file` resolved against `directory`, once its certificates load; a config error naming the provider and path otherwise.
    static func caFile(_ written: String, provider: String, directory: String?, node: ConfigNode) throws -> String {
        guard !written.isEmpty else { throw node.error("provider '\(provider)': ca_file must not be empty") }
        let base = directory.flatMap { $0.isEmpty ? nil : $0 } ?? FileManager.default.currentDirectoryPath
        let path = written.hasPrefix("/") ? written : (base as NSString).appendingPathComponent(written)
        do {
            _ = try HTTPClients.loadCAFile(path)
        } catch {
            throw node.error("provider '\(provider)': unusable ca_file: \(error)")
        }
        return path
    }

    static func parseModels(_ n: ConfigNode) throws -> [(name: String, targets: [SluiceConfig.Target])] {
        try n.mapping().map { name, m in
            var targets: [SluiceConfig.Target] = []
            for (k, v) in try m.mapping(allowed: ["targets"]) where k == "targets" {
                for t in try v.sequence() {
                    var provider: String?, model: String?, weight = 1.0, priority = 1
                    for (tk, tv) in try t.mapping(allowed: ["provider", "model", "weight", "priority"]) {
                        switch tk {
                        case "provider": provider = try tv.string()
                        case "model": model = try tv.string()
                        case "weight":
                            weight = try tv.double()
                            guard weight > 0 else { throw tv.error("weight must be positive") }
                        case "priority": priority = try tv.int()
                        default: break
                        }
                    }
                    guard let provider else { throw t.error("a target needs a 'provider'") }
                    guard let model else { throw t.error("a target needs a 'model'") }
                    var target = SluiceConfig.Target(provider: provider, model: model)
                    target.weight = weight
                    target.priority = priority
                    targets.append(target)
                }
            }
            guard !targets.isEmpty else { throw m.error("model '\(name)' needs at least one entry in 'targets'") }
            return (name, targets)
        }
    }

    static func parsePricing(_ n: ConfigNode) throws -> [String: ModelPrice] {
        var out: [String: ModelPrice] = [:]
        for (model, p) in try n.mapping() {
            var input: Double?, output: Double?, cached: Double?, write: Double?, batchInput: Double?, batchOutput: Double?
            for (k, v) in try p.mapping(allowed: ["input", "output", "cached_input", "cache_write", "batch_input", "batch_output"]) {
                let value = try v.double()
                guard value >= 0 else { throw v.error("prices must not be negative") }
                switch k {
                case "input": input = value
                case "output": output = value
                case "cached_input": cached = value
                case "cache_write": write = value
                case "batch_input": batchInput = value
                case "batch_output": batchOutput = value
                default: break
                }
            }
            guard let input, let output else { throw p.error("a price needs 'input' and 'output' (USD per million tokens)") }
            out[model] = ModelPrice(
                input: input, output: output, cachedInput: cached, cacheWrite: write, batchInput: batchInput, batchOutput: batchOutput)
        }
        return out
    }

    static func validateModels(_ c: SluiceConfig, root: ConfigNode) throws {
        let names = Set(c.providers.map(\.name))
        for (model, targets) in c.models {
            for (i, t) in targets.enumerated() where !names.contains(t.provider) {
                throw ConfigError(
                    path: "models.\(model).targets[\(i)].provider", line: nil,
                    "unknown provider '\(t.provider)'; configured providers: \(names.sorted().joined(separator: ", "))")
            }
        }
    }
}
