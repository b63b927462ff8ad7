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
            return "|\(project)|\(location)|\(auth)"
        }
    }
}

extension ConfigLoader {
    /// The provider keys only `type: vertex` takes.
    static let vertexKeys = ["project", "location", "credentials_file", "access_token"]

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
        for (k, v) in keys {
            let value = try v.string()
            guard !value.isEmpty else { throw v.error("provider '\(name)': \(k) must not be empty") }
            given[k] = (value, v)
        }
        func env(_ key: String) -> String? { n.env[key].flatMap { $0.isEmpty ? nil : $0 } }
        let credentials: VertexCredentials
        var file: String?
        switch (given["credentials_file"], given["access_token"]) {
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
        return SluiceConfig.Vertex(project: project, location: location, credentials: credentials, credentialsFile: file)
    }
}
