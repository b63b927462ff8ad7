import Foundation
import AsyncHTTPClient
import Logging
import NIOCore
import NIOPosix
import SluiceCore
import SluiceProviders
import SluiceStore

/// The running gateway: providers, routes, keys, prices and the call log,
/// built once from a ``SluiceConfig``.
public final class Gateway: Sendable {
    /// The configuration it was built from.
    public let config: SluiceConfig
    /// The hashed virtual keys and admin key.
    public let keyRing: KeyRing
    /// Model names mapped to upstream targets.
    public let catalog: ModelCatalog
    /// The call and key store.
    public let store: any SluiceStore
    /// The writer that queues call records and writes them to the store in batches.
    public let callLog: CallLogWriter
    /// The chat pipeline.
    public let chat: ChatService
    /// The HTTP client shared by upstream providers; closed by ``shutdown()``.
    public let httpClients: HTTPClients
    /// The gateway's logger.
    public let logger: Logger
    /// This node's id (host, process and a random part), as it appears in shared tables.
    public let node: String
    /// Spends shared quotas (budgets, rate windows) from leased slices.
    public let quotas: QuotaLeaser
    /// Store upkeep: expired leases back to their pools, idle windows pruned.
    public let maintenance: StoreMaintenance
    /// Changes announced by any node (flags, kill switches), delivered to handlers.
    public let changes: ChangeWatcher

    /// Builds the gateway. The store must be migrated already.
    public init(config: SluiceConfig, store: any SluiceStore, logger: Logger, clock: any WallClock = SystemClock()) {
        self.config = config
        self.store = store
        self.logger = logger
        var clientConfig = HTTPClient.Configuration()
        clientConfig.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 512)
        // Sluice retries and falls back itself; a refused connection must fail now, not after the connect timeout.
        clientConfig.connectionPool.retryConnectionEstablishment = false
        clientConfig.decompression = .disabled
        clientConfig.timeout = .init(connect: .seconds(5))
        httpClients = HTTPClients(configuration: clientConfig)
        var providers: [String: any Provider] = [:]
        for p in config.providers {
            switch p.type {
            case .simulated:
                providers[p.name] = SimulatedProvider(name: p.name, settings: .init(latencyMs: p.latencyMs, chunkMs: p.chunkMs))
            case .openai, .openaiCompatible:
                let settings = OpenAIProvider.Settings(
                    baseURL: p.baseURL ?? "https://api.openai.com/v1", apiKey: p.apiKey, headers: p.headers,
                    timeout: .milliseconds(Int64(p.timeoutMs)))
                providers[p.name] = OpenAIProvider(name: p.name, settings: settings, clients: httpClients)
            case .anthropic, .gemini, .azureOpenAI:
                logger.warning("provider type not implemented in this build; skipped", metadata: ["provider": "\(p.name)"])
            }
        }
        catalog = ModelCatalog(config: config, providers: providers)
        keyRing = KeyRing(keys: config.auth.keys, adminKey: config.auth.adminKey)
        callLog = CallLogWriter(store: store, logger: logger)
        let recorder = CallRecorder(
            callLog: callLog, prices: PriceTable(overrides: config.pricing), logBodies: config.storage.logBodies, logger: logger)
        chat = ChatService(catalog: catalog, recorder: recorder, clock: clock)
        node = Self.makeNodeID()
        quotas = QuotaLeaser(store: store, node: node, clock: clock)
        maintenance = StoreMaintenance(store: store, clock: clock, logger: logger)
        changes = ChangeWatcher(feed: store.changes, logger: logger)
    }

    static func makeNodeID() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "node"
        return "\(host)-\(ProcessInfo.processInfo.processIdentifier)-\(String(UInt32.random(in: .min ... .max), radix: 36))"
    }

    /// Stores the configured keys as hashes.
    public func syncKeys() async throws {
        try await store.upsertKeys(keyRing.storedKeys)
    }

    /// Closes the HTTP client; call after the server and call log have stopped.
    public func shutdown() async throws {
        try await httpClients.shutdown()
    }
}
