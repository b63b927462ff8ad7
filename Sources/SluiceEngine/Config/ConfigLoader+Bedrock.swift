import SluiceProviders

extension SluiceConfig {
    /// A `type: bedrock` provider's AWS settings, resolved when the config loads from the entry's
    /// keys and, for what it leaves out, the standard `AWS_*` environment variables.
    public struct Bedrock: Sendable {
        /// The region (`region:`, else `AWS_REGION`, else `AWS_DEFAULT_REGION`).
        public var region: String
        /// The signing credentials (`access_key_id`/`secret_access_key`/`session_token`, else
        /// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`).
        public var credentials: AWSCredentials
        /// `credentials: [{name, access_key_id, secret_access_key, session_token, weight}]`: a pool
        /// of sets chosen per request (the single set, when also given, joins first as `default`).
        public var pool: [BedrockProvider.PooledCredentials] = []
        /// Settings from their parts.
        public init(region: String, credentials: AWSCredentials, pool: [BedrockProvider.PooledCredentials] = []) {
            self.region = region
            self.credentials = credentials
            self.pool = pool
        }
    }
}

extension ConfigLoader {
    /// The provider keys only `type: bedrock` takes.
    static let bedrockKeys = ["region", "access_key_id", "secret_access_key", "session_token", "credentials"]

    /// A bedrock provider's settings from its `keys` (a subset of ``bedrockKeys``) and `n.env`;
    /// a config error that says what to set when the region or the credentials are missing.
    /// Any of the keys on another provider type is an error.
    static func bedrockSettings(
        provider name: String, type: SluiceConfig.ProviderType, keys: [(String, ConfigNode)], apiKey: String?, _ n: ConfigNode
    ) throws -> SluiceConfig.Bedrock? {
        guard type == .bedrock else {
            if let (k, v) = keys.first { throw v.error("'\(k)' applies only to bedrock providers") }
            return nil
        }
        if apiKey != nil {
            throw n.error(
                "provider '\(name)' of type bedrock signs requests with AWS credentials, not an api_key: "
                    + "set access_key_id and secret_access_key (or the AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY environment variables)")
        }
        var given: [String: String] = [:]
        let listed = try keys.first { $0.0 == "credentials" }.map { try bedrockPool(provider: name, $0.1) } ?? []
        for (k, v) in keys where k != "credentials" {
            let value = try v.string()
            guard !value.isEmpty else { throw v.error("provider '\(name)': \(k) must not be empty") }
            given[k] = value
        }
        func env(_ key: String) -> String? { n.env[key].flatMap { $0.isEmpty ? nil : $0 } }
        guard let region = given["region"] ?? env("AWS_REGION") ?? env("AWS_DEFAULT_REGION") else {
            throw n.error(
                "provider '\(name)' of type bedrock needs a region: set 'region: us-east-1' (the region the models are enabled in) "
                    + "or the AWS_REGION environment variable")
        }
        guard region.allSatisfy({ $0.isLowercase && $0.isLetter || $0.isNumber || $0 == "-" }), region.contains("-") else {
            throw n.error("provider '\(name)': region '\(region)' does not look like an AWS region (us-east-1, eu-west-3…)")
        }
        let credentials: AWSCredentials
        switch (given["access_key_id"], given["secret_access_key"]) {
        case let (id?, secret?):
            credentials = AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: given["session_token"])
        case (_?, nil), (nil, _?):
            throw n.error(
                "provider '\(name)' of type bedrock sets only one of access_key_id and secret_access_key: set both "
                    + "(or neither, to take AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment)")
        case (nil, nil) where !listed.isEmpty:
            if given["session_token"] != nil {
                throw n.error("provider '\(name)': session_token needs access_key_id and secret_access_key beside it")
            }
            let pool = listed.count == 1 && listed[0].name.isEmpty ? [BedrockProvider.PooledCredentials(name: primaryKeyName, credentials: listed[0].credentials, weight: listed[0].weight)] : listed
            try checkBedrockPool(pool, provider: name, node: n)
            return SluiceConfig.Bedrock(region: region, credentials: pool[0].credentials, pool: pool)
        case (nil, nil):
            if given["session_token"] != nil {
                throw n.error("provider '\(name)': session_token needs access_key_id and secret_access_key beside it")
            }
            guard let id = env("AWS_ACCESS_KEY_ID"), let secret = env("AWS_SECRET_ACCESS_KEY") else {
                throw n.error(
                    "provider '\(name)' of type bedrock has no AWS credentials: set access_key_id and secret_access_key "
                        + "(and session_token for temporary credentials), for example from ${AWS_ACCESS_KEY_ID}, or export "
                        + "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) before starting Sluice")
            }
            credentials = AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: env("AWS_SESSION_TOKEN"))
        }
        guard !listed.isEmpty else { return SluiceConfig.Bedrock(region: region, credentials: credentials) }
        let pool = [BedrockProvider.PooledCredentials(name: primaryKeyName, credentials: credentials)] + listed
        try checkBedrockPool(pool, provider: name, node: n)
        return SluiceConfig.Bedrock(region: region, credentials: credentials, pool: pool)
    }

    /// `credentials:` as written: each entry's keys, name and weight.
    static func bedrockPool(provider: String, _ n: ConfigNode) throws -> [BedrockProvider.PooledCredentials] {
        let items = try n.sequence()
        guard !items.isEmpty else { throw n.error("provider '\(provider)': credentials must list at least one {name, access_key_id, secret_access_key} set") }
        return try items.map { item in
            var f: [String: String] = [:]
            var weight = 1.0
            for (k, v) in try item.mapping(allowed: ["name", "access_key_id", "secret_access_key", "session_token", "weight"]) {
                if k == "weight" {
                    weight = try v.double()
                    guard weight > 0, weight.isFinite else { throw v.error("provider '\(provider)': weight must be a positive number") }
                } else {
                    f[k] = try v.string()
                }
            }
            guard let id = f["access_key_id"], !id.isEmpty, let secret = f["secret_access_key"], !secret.isEmpty else {
                throw item.error("provider '\(provider)': every credentials entry needs access_key_id and secret_access_key")
            }
            if let name = f["name"] { try checkKeyName(name, provider: provider, node: item) }
            return BedrockProvider.PooledCredentials(
                name: f["name"] ?? "", credentials: AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: f["session_token"]),
                weight: weight)
        }
    }

    /// Names required when there are several sets, unique, and no set listed twice.
    static func checkBedrockPool(_ pool: [BedrockProvider.PooledCredentials], provider: String, node: ConfigNode) throws {
        var names = Set<String>(), ids = Set<String>()
        for c in pool {
            guard !c.name.isEmpty else {
                throw node.error("provider '\(provider)': every credentials entry needs a 'name' when there are several sets (it names the set in /admin/breakers, /metrics and call records)")
            }
            guard names.insert(c.name).inserted else {
                throw node.error("provider '\(provider)': two credential sets are named '\(c.name)' ('\(primaryKeyName)' is the name of access_key_id beside credentials); names must be unique")
            }
            guard ids.insert(c.credentials.accessKeyID).inserted else {
                throw node.error("provider '\(provider)': credential sets '\(c.name)' and another share an access key id; list each set once")
            }
        }
    }
}
