import SluiceCore
import SluiceStore

/// The validated runtime configuration. Built by ``ConfigLoader`` from YAML
/// (or from built-in defaults when there is no file).
public struct SluiceConfig: Sendable {
    /// `server:`
    public struct Server: Sendable, Equatable {
        public var host = "127.0.0.1"
        public var port = 8080
        public var maxBodyBytes = 4 * 1024 * 1024
        public init() {}
    }

    /// How much of each request and answer the call log keeps.
    public enum LogBodies: String, Sendable, CaseIterable {
        /// The request body and the answer text.
        case full
        /// The request's structure with message text replaced by its length.
        case redacted
        /// Only the input hash.
        case hash
    }

    /// `storage:`
    public struct Storage: Sendable, Equatable {
        public var url: StorageURL = .sqlite(path: "./sluice.db")
        public var logBodies: LogBodies = .full
        public init() {}
    }

    /// One virtual key from `auth.keys`.
    public struct VirtualKey: Sendable {
        public var name: String
        public var key: String
        /// Purposes the key may use; `*` allows all.
        public var purposes: [String]
        public init(name: String, key: String, purposes: [String] = ["*"]) {
            self.name = name
            self.key = key
            self.purposes = purposes
        }
    }

    /// `auth:`
    public struct Auth: Sendable {
        public var adminKey: String?
        public var keys: [VirtualKey] = []
        public init() {}
    }

    /// Provider kinds.
    public enum ProviderType: String, Sendable, CaseIterable {
        case openai, openaiCompatible = "openai_compatible", simulated
        case anthropic, gemini, azureOpenAI = "azure_openai"

        /// Types this build can call.
        public var isImplemented: Bool { self == .openai || self == .openaiCompatible || self == .simulated }
    }

    /// One entry of `providers:`.
    public struct Provider: Sendable {
        public var name: String
        public var type: ProviderType
        public var apiKey: String?
        public var baseURL: String?
        public var headers: [(String, String)] = []
        public var timeoutMs = 600_000
        public var latencyMs = 0
        public var chunkMs = 0
        public init(name: String, type: ProviderType) {
            self.name = name
            self.type = type
        }
    }

    /// One target of a model's fallback chain.
    public struct Target: Sendable, Equatable {
        public var provider: String
        public var model: String
        public var weight: Double = 1
        public var priority: Int = 1
        public init(provider: String, model: String) {
            self.provider = provider
            self.model = model
        }
    }

    public var server = Server()
    public var storage = Storage()
    public var auth = Auth()
    /// Providers in file order.
    public var providers: [Provider] = []
    /// Model name → targets, in file order.
    public var models: [(name: String, targets: [Target])] = []
    public var pricing: [String: ModelPrice] = [:]
    /// Warnings to log at start (for example an unsupported provider skipped).
    public var warnings: [String] = []

    public init() {}
}
