import Foundation
import SluiceProviders

extension SluiceConfig {
    /// A `type: vertex` provider's Google Cloud settings, resolved when the config loads from the
    /// entry's keys and, for what it leaves out, the standard Google environment variables.
    public struct Vertex: Sendable {
        /// The project (`project:`, else `GOOGLE_CLOUD_PROJECT`, else the key file's `project_id`).
        public var project: String
        /// The location (`location:`, else `GOOGLE_CLOUD_LOCATION`).
        public var location: String
        /// A static token or the service account read from ``credentialsFile``.
        public var credentials: VertexCredentials
        /// The service-account key file the credentials came from (resolved path); `nil` for `access_token`.
        public var credentialsFile: String?
        /// `credentials: [{name, credentials_file | access_token, weight}]`: sets chosen per request
        /// like an API key pool; empty: ``credentials`` alone.
        public var pool: [VertexProvider.PooledCredentials] = []

        /// Settings from their parts.
        public init(project: String, location: String, credentials: VertexCredentials, credentialsFile: String? = nil) {
            self.project = project
            self.location = location
            self.credentials = credentials
            self.credentialsFile = credentialsFile
        }

        /// What a change of needs a restart, secrets included only to compare (never printed).
        var fingerprint: String {
            let auth: String
            switch credentials {
            case .accessToken(let token): auth = "token:" + token
            case .serviceAccount(let account): auth = "sa:\(credentialsFile ?? "")|\(account.clientEmail)|\(account.privateKeyID ?? "")"
            }
            return "|\(project)|\(location)|\(auth)|" + pool.map { "\($0.name)=\($0.weight)" }.joined(separator: ",")
        }
    }
}

extension ConfigLoader {
    /// The provider keys only `type: vertex` takes.
    static let vertexKeys = ["project", "location", "credentials_file", "access_token", "credentials"]

    /// A vertex provider's settings from its `keys` (a subset of ``vertexKeys``) and `n.env`; a
    /// config error that says what to set when the project, the location or the credentials are
    /// missing or unusable. Any of the keys on another provider type is an error.
    static func vertexSettings(
        provider name: String, type: SluiceConfig.ProviderType, keys: [(String, ConfigNode)], apiKey: String?, directory: String?,
        _ n: ConfigNode
    ) throws -> SluiceConfig.Vertex? {
        guard type == .vertex else {
            if let (k, v) = keys.first { throw v.error("'\(k)' applies only to vertex providers") }
            return nil
        }
        if apiKey != nil {
            throw n.error(
                "provider '\(name)' of type vertex authenticates with a service account or an OAuth access token, not an api_key: "
                    + "set credentials_file (or the GOOGLE_APPLICATION_CREDENTIALS environment variable) or access_token")
        }
        var given: [String: (String, ConfigNode)] = [:]
        let pool = try keys.first { $0.0 == "credentials" }.map { try vertexPool(provider: name, $0.1, directory: directory) } ?? []
        for (k, v) in keys where k != "credentials" {
            let value = try v.string()
            guard !value.isEmpty else { throw v.error("provider '\(name)': \(k) must not be empty") }
            given[k] = (value, v)
        }
        func env(_ key: String) -> String? { n.env[key].flatMap { $0.isEmpty ? nil : $0 } }
        let credentials: VertexCredentials
        var file: String?
        switch (given["credentials_file"], given["access_token"]) {
        case (nil, nil) where !pool.isEmpty:
            credentials = pool[0].credentials
        case (_, _) where !pool.isEmpty:
            throw n.error("provider '\(name)' sets credentials (a pool) beside credentials_file or access_token: list every set under credentials")
        case (_?, _?):
            throw n.error("provider '\(name)' sets both credentials_file and access_token: keep one")
        case (nil, let (token, _)?):
            credentials = .accessToken(token)
        case (let written, nil):
            guard let path = written?.0 ?? env("GOOGLE_APPLICATION_CREDENTIALS") else {
                throw n.error(
                    "provider '\(name)' of type vertex has no credentials: set credentials_file to a service-account JSON key "
                        + "(or export GOOGLE_APPLICATION_CREDENTIALS), or set access_token")
            }
            let base = directory.flatMap { $0.isEmpty ? nil : $0 } ?? FileManager.default.currentDirectoryPath
            let resolved = path.hasPrefix("/") || written == nil ? path : (base as NSString).appendingPathComponent(path)
            do {
                credentials = .serviceAccount(try GoogleServiceAccount.load(path: resolved))
            } catch {
                let origin = written == nil ? "GOOGLE_APPLICATION_CREDENTIALS" : "credentials_file"
                throw (written?.1 ?? n).error("provider '\(name)': unusable \(origin): \(error.description)")
            }
            file = resolved
        }
        var fromFile: String?
        if case .serviceAccount(let account) = credentials { fromFile = account.projectID }
        guard let project = given["project"]?.0 ?? env("GOOGLE_CLOUD_PROJECT") ?? fromFile else {
            throw n.error(
                "provider '\(name)' of type vertex needs a project: set 'project: my-project-id' or the GOOGLE_CLOUD_PROJECT "
                    + "environment variable")
        }
        guard project.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == ":" || $0 == "." }) else {
            throw (given["project"]?.1 ?? n).error("provider '\(name)': project '\(project)' does not look like a Google Cloud project id")
        }
        guard let location = given["location"]?.0 ?? env("GOOGLE_CLOUD_LOCATION") else {
            throw n.error(
                "provider '\(name)' of type vertex needs a location: set 'location: us-central1' (or global, or the region the "
                    + "models are offered in) or the GOOGLE_CLOUD_LOCATION environment variable")
        }
        guard !location.isEmpty, location.allSatisfy({ $0.isLowercase && $0.isLetter || $0.isNumber || $0 == "-" }) else {
            throw (given["location"]?.1 ?? n).error(
                "provider '\(name)': location '\(location)' does not look like a Vertex AI location (us-central1, europe-west1, global…)")
        }
        var settings = SluiceConfig.Vertex(project: project, location: location, credentials: credentials, credentialsFile: file)
        settings.pool = pool
        return settings
    }

    /// `credentials:` of a vertex provider: named sets, each a service-account key file or a static
    /// token; names required when there are several, and unique.
    static func vertexPool(provider: String, _ n: ConfigNode, directory: String?) throws -> [VertexProvider.PooledCredentials] {
        let items = try n.sequence()
        guard !items.isEmpty else { throw n.error("provider '\(provider)': credentials must list at least one {name, credentials_file} set") }
        var out: [VertexProvider.PooledCredentials] = []
        for item in items {
            var f: [String: String] = [:]
            var weight = 1.0
            for (k, v) in try item.mapping(allowed: ["name", "credentials_file", "access_token", "weight"]) {
                if k == "weight" {
                    weight = try v.double()
                    guard weight > 0, weight.isFinite else { throw v.error("provider '\(provider)': weight must be a positive number") }
                } else {
                    f[k] = try v.string()
                }
            }
            let name = f["name"] ?? (items.count == 1 ? primaryKeyName : "")
            try checkKeyName(name, provider: provider, node: item)
            guard !out.contains(where: { $0.name == name }) else {
                throw item.error("provider '\(provider)': two credential sets are named '\(name)'; names must be unique")
            }
            let credentials: VertexCredentials
            switch (f["credentials_file"], f["access_token"]) {
            case (let path?, nil):
                let base = directory.flatMap { $0.isEmpty ? nil : $0 } ?? FileManager.default.currentDirectoryPath
                let resolved = path.hasPrefix("/") ? path : (base as NSString).appendingPathComponent(path)
                do { credentials = .serviceAccount(try GoogleServiceAccount.load(path: resolved)) } catch {
                    throw item.error("provider '\(provider)': credential set '\(name)': unusable credentials_file: \(error.description)")
                }
            case (nil, let token?) where !token.isEmpty:
                credentials = .accessToken(token)
            default:
                throw item.error("provider '\(provider)': credential set '\(name)' needs one of credentials_file and access_token")
            }
            out.append(VertexProvider.PooledCredentials(name: name, credentials: credentials, weight: weight))
        }
        return out
    }
}
