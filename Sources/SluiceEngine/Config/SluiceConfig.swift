import Foundation
import SluiceCore
import SluiceStore

/// The validated runtime configuration. Built by ``ConfigLoader`` from YAML
/// (or from built-in defaults when there is no file).
public struct SluiceConfig: Sendable {
    /// `server:`
    public struct Server: Sendable, Equatable {
        /// The bind address; default `127.0.0.1`.
        public var host = "127.0.0.1"
        /// The bind port; default 8080, `0` picks a free one.
        public var port = 8080
        /// Largest accepted request body in bytes (default 4 MiB); larger ones get 413.
        public var maxBodyBytes = 4 * 1024 * 1024
        /// Failed authentications one address may make per minute before its requests are
        /// refused with `429` and `Retry-After` for the rest of the minute; `0` turns this off.
        public var authFailuresPerMinute = 20
        /// The defaults.
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
        /// Where the call log is stored; default `sqlite://./sluice.db`.
        public var url: StorageURL = .sqlite(path: "./sluice.db")
        /// How much of each body the call log keeps; default `full`.
        public var logBodies: LogBodies = .full
        /// `encryption_key`: when set, stored request and response bodies are AES-GCM encrypted.
        /// Prints as `[redacted]`.
        public var encryptionKey: EncryptionKey?
        /// The cipher for ``encryptionKey``, or `nil` when bodies are stored as plaintext.
        public var bodyCipher: BodyCipher? { encryptionKey.map(BodyCipher.init(key:)) }
        /// The defaults.
        public init() {}
    }

    /// One virtual key from `auth.keys`.
    public struct VirtualKey: Sendable {
        /// The key's name, recorded on its calls.
        public var name: String
        /// The secret clients send; hashed by ``KeyRing`` and never stored.
        public var key: String
        /// Purposes the key may use; `*` allows all.
        public var purposes: [String]
        /// The team it belongs to (its calls count against the team's caps too).
        public var team: String?
        /// The key's spending cap per UTC day.
        public var dailyBudgetUSD: Double?
        /// The key's spending cap per UTC calendar month.
        public var monthlyBudgetUSD: Double?
        /// Requests per minute.
        public var rpm: Int?
        /// Tokens (input + output) per minute.
        public var tpm: Int?
        /// A virtual key allowed `purposes` (all by default).
        public init(name: String, key: String, purposes: [String] = ["*"]) {
            self.name = name
            self.key = key
            self.purposes = purposes
        }
    }

    /// `auth:`
    public struct Auth: Sendable {
        /// The key for `/admin/*`; `nil` when none is configured.
        public var adminKey: String?
        /// The virtual keys; none opens the data plane to loopback callers.
        public var keys: [VirtualKey] = []
        /// No admin key and no virtual keys.
        public init() {}
    }

    /// Provider kinds.
    public enum ProviderType: String, Sendable, CaseIterable {
        case openai, openaiCompatible = "openai_compatible", simulated
        case anthropic, gemini, azureOpenAI = "azure_openai"
        case bedrock
        case vertex

    }

    /// One entry of `providers:`.
    public struct Provider: Sendable {
        /// The name under `providers:`, used by model targets and `PROVIDER/MODEL`.
        public var name: String
        /// The provider kind.
        public var type: ProviderType
        /// The upstream key, sent as a bearer token; `nil` sends none.
        public var apiKey: String?
        /// `api_keys:` (with `api_key` first, named `default`, when both are set): a pool the calls
        /// are spread over by rate limits; empty for a single key. ``apiKey`` is then its first key.
        public var apiKeys: [PoolKey] = []
        /// The API root; `nil` means `https://api.openai.com/v1`.
        public var baseURL: String?
        /// Extra headers sent on every upstream request.
        public var headers: [(String, String)] = []
        /// Whole-request timeout in milliseconds; default 600000.
        public var timeoutMs = 600_000
        /// How long connecting to the upstream may take; default 5000.
        public var connectTimeoutMs = 5_000
        /// The longest silence while reading an answer (between stream chunks, say); `nil` (the default) for none.
        public var readTimeoutMs: Int?
        /// `ca_file`: a PEM file of CA certificates trusted for this provider's HTTPS connections in
        /// addition to the system's roots (a private endpoint's CA), resolved against the config file's
        /// directory; `nil` (the default) trusts the system's roots only.
        public var caFile: String?
        /// Azure OpenAI only: the `api-version` query parameter; default ``SluiceConfig/Provider/defaultAzureAPIVersion``.
        public var apiVersion: String?
        /// The Azure OpenAI data-plane API version used when `api_version` is not set.
        public static let defaultAzureAPIVersion = "2024-10-21"
        /// Bedrock only: the region and AWS credentials, resolved at load (``SluiceConfig/Bedrock``).
        public var bedrock: Bedrock?
        /// Vertex AI only: the project, location and Google credentials, resolved at load (``SluiceConfig/Vertex``).
        public var vertex: Vertex?
        /// Simulated only: milliseconds before the answer or first chunk; default 0.
        public var latencyMs = 0
        /// Simulated only: milliseconds between stream chunks; default 0.
        public var chunkMs = 0
        /// A provider with defaults for everything but its name and type.
        public init(name: String, type: ProviderType) {
            self.name = name
            self.type = type
        }
    }

    /// One target of a model's fallback chain.
    public struct Target: Sendable, Equatable {
        /// The name of the provider to call.
        public var provider: String
        /// The upstream model id sent to that provider.
        public var model: String
        /// Relative chance among targets of equal priority; default 1.
        public var weight: Double = 1
        /// Targets with the lowest value answer first; default 1.
        public var priority: Int = 1
        /// A target with weight 1 and priority 1.
        public init(provider: String, model: String) {
            self.provider = provider
            self.model = model
        }
    }

    /// The `server:` section.
    public var server = Server()
    /// The `storage:` section.
    public var storage = Storage()
    /// The `auth:` section.
    public var auth = Auth()
    /// Providers in file order.
    public var providers: [Provider] = []
    /// Model name → targets, in file order.
    public var models: [(name: String, targets: [Target])] = []
    /// `pricing:` overrides by model id; they win over the built-in table.
    public var pricing: [String: ModelPrice] = [:]
    /// Warnings to log at start (for example an unsupported provider skipped).
    public var warnings: [String] = []
    /// `retry:`, the default for every purpose.
    public var retry = Retry()
    /// `breaker:`, per target.
    public var breaker = Breaker()
    /// `purposes:` by name.
    public var purposes: [String: Purpose] = [:]
    /// `prompts_dir` as written; see ``resolvedPromptsDir``.
    public var promptsDir: String?
    /// The directory of the config file; `nil` for built-in defaults or text configs.
    public var configDirectory: String?
    /// The top-level `cache:` section.
    public var cache = Cache()
    /// `tasks:`: durable task workers.
    public var tasks = Tasks()
    /// Eval suites the server runs on a schedule.
    public var evals: [ScheduledEval] = []
    /// `alerts:`: rules evaluated every minute, posted to a webhook.
    public var alerts = AlertsConfig()
    /// `refusal_phrases`: answers that open with one are recorded as refusals; the built-in list when `nil`.
    public var refusalPhrases: [String]?
    /// `tracing:`: OpenTelemetry traces; `nil` (the default) traces nothing.
    public var tracing: Tracing?
    /// `responses:`: the state Sluice keeps for the Responses API (`/v1/responses`).
    public var responses = Responses()
    /// `teams:` by name: caps shared by every key of the team.
    public var teams: [String: Limits] = [:]
    /// `end_users:`: the default caps of each end user; `nil` caps none.
    public var endUsers: Limits?
    /// `review:`: the weekly review posted on a schedule; `nil` (the default) posts nothing.
    public var review: Review?

    /// Where prompt files live: `prompts_dir` (default `prompts`), relative to the config file's directory.
    public var resolvedPromptsDir: String {
        let dir = promptsDir ?? "prompts"
        if dir.hasPrefix("/") { return dir }
        let base = configDirectory.flatMap { $0.isEmpty ? nil : $0 } ?? FileManager.default.currentDirectoryPath
        return (base as NSString).appendingPathComponent(dir)
    }

    /// Section defaults with no providers, models or pricing overrides.
    public init() {}

    /// The `tasks:` section.
    public struct Tasks: Sendable, Equatable {
        /// Concurrent task runs per node.
        public var workers = 8
        /// A running task whose heartbeat is older than this is timed out.
        public var timeoutS = 300.0
        /// Runs a task may get when it times out (a failed run is retried only on request).
        public var maxAttempts = 3
        /// Signs webhook bodies (`X-Sluice-Signature: sha256=HEX`); the admin key when unset.
        public var webhookSecret: String?
        /// How often the sweeper looks for timed-out tasks.
        public var sweepIntervalS = 10.0
        /// Batch mode: how long tasks of a batch purpose collect before they are submitted as one batch.
        public var batchIntervalS = 60.0
        /// Batch mode: how often open batches are polled (and their tasks' heartbeats refreshed).
        public var batchPollS = 30.0
        /// Batch mode: the most tasks in one upstream batch.
        public var batchMax = 1000
        /// The defaults: 8 workers, 300 s, 3 attempts.
        public init() {}
    }
}

extension SluiceConfig {
    /// The `responses:` section.
    public struct Responses: Sendable, Equatable {
        /// Stored responses (`store: true`) are deleted this many days after they were created (positive; fractions allowed).
        public var retentionDays = 30.0
        /// ``retentionDays`` in seconds.
        public var retention: TimeInterval { retentionDays * 86_400 }
        /// The default: 30 days.
        public init() {}
    }
}

extension SluiceConfig {
    /// One `evals:` entry: a suite file run every `every`.
    public struct ScheduledEval: Sendable, Equatable {
        /// The suite file (relative paths resolved against the config file's directory).
        public var suitePath: String
        /// The period in seconds.
        public var everySeconds: Double

        /// An entry; see the properties.
        public init(suitePath: String, everySeconds: Double) {
            self.suitePath = suitePath
            self.everySeconds = everySeconds
        }
    }
}
