import Foundation
import AsyncHTTPClient
import Logging
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle
import SluiceCore
import SluiceProviders
import SluiceStore

/// The running gateway: providers, routes, keys, prices and the call log,
/// built once from a ``SluiceConfig``.
public final class Gateway: Sendable {
    /// The configuration it was built from.
    public let config: SluiceConfig
    /// The hashed virtual keys and admin key: the config's, and the runtime keys kept current by ``runtimeKeys``.
    public let keyRing: KeyRing
    /// Virtual keys created at runtime (`/admin/keys`), shared by every node through the store.
    public let runtimeKeys: KeyBoard
    /// Failed authentications per address: a guesser is slowed.
    public let authThrottle: AuthThrottle
    /// Operators' per-end-user overrides (`/admin/end-users`), shared by every node through the store.
    public let endUsers: EndUserBoard
    /// Model names mapped to upstream targets.
    public let catalog: ModelCatalog
    /// The call and key store.
    public let store: any SluiceStore
    /// The writer that queues call records and writes them to the store in batches.
    public let callLog: CallLogWriter
    /// The chat pipeline.
    public let chat: ChatService
    /// The HTTP clients of upstream providers, one set per distinct connect/read timeout and `ca_file`; closed by ``shutdown()``.
    let httpClients: [HTTPClients]
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
    /// This node's circuit breakers, one per target.
    public let breakers: BreakerBoard
    /// The kill switches in force, shared by every node through the store.
    public let kills: KillBoard
    /// Prometheus metrics for `GET /metrics`.
    public let metrics: GatewayMetrics
    /// OpenTelemetry spans per call and attempt; `nil` without `tracing:`.
    public let traces: CallTracer?
    /// Budgets and rate limits.
    public let budget: BudgetGuard
    /// The alert rules' evaluator.
    public let alerts: AlertService
    /// Durable tasks: the API side.
    public let tasks: TaskService
    /// Stored responses for the chat endpoints' `Idempotency-Key` header.
    public let idempotency: IdempotencyGate
    /// The purpose settings calls read: the config file's with the live flags over them.
    public let live: LiveConfig
    /// Live flags (`GET|PUT /admin/flags`).
    public let flags: FlagService
    /// Rolls a guarded canary back when it breaches its limits.
    public let rolloutGuard: RolloutGuard
    /// A scheduler of the live config's `evals:` suites, running through this gateway (``services`` runs one).
    public var evalScheduler: EvalScheduler { EvalScheduler(gateway: self) }
    /// Reads the config file again for a reload; `nil` when the gateway was built from a config in memory.
    public let configSource: (@Sendable () throws -> SluiceConfig)?
    /// The task workers of this node.
    public let taskWorkers: TaskWorkers
    /// The sweeper of timed-out tasks.
    public let taskSweeper: TaskSweeper
    /// Delivers ended tasks to their `webhook_url` in the background.
    public let taskWebhooks: TaskWebhooks
    /// Batch mode: submits the tasks of `mode: batch` purposes through the providers' batch APIs and polls them.
    public let taskBatcher: TaskBatcher
    /// The wall clock every timed part reads (injected in tests).
    public let clock: any WallClock
    /// The response cache (memory in front of the store).
    public let cache: ResponseCache
    /// The prompt files, swapped whole on reload.
    public let prompts: PromptBook
    /// `POST /v1/purposes/{purpose}/run`.
    public let purposes: PurposeRunner
    /// Purposes' shadow runs, started after sampled live calls.
    public let shadows: ShadowRunner
    /// `POST /v1/feedback`.
    public let feedback: FeedbackService
    /// `/v1/responses`: the Responses API with the state Sluice keeps.
    public let responses: ResponsesService
    /// Deletes stored Responses API responses past their retention (`responses.retention_days`).
    public let responseSweeper: ResponseSweeper

    /// Builds the gateway. The store must be migrated already.
    public init(
        config: SluiceConfig, store: any SluiceStore, logger: Logger, clock: any WallClock = SystemClock(),
        prompts library: PromptLibrary = .empty, configSource: (@Sendable () throws -> SluiceConfig)? = nil,
        guardInterval: Duration = .seconds(2)
    ) {
        self.configSource = configSource
        self.config = config
        self.clock = clock
        self.store = store
        self.logger = logger
        var clientSets: [String: HTTPClients] = [:]
        func clients(_ p: SluiceConfig.Provider) -> HTTPClients {
            Self.clients(connectMs: p.connectTimeoutMs, readMs: p.readTimeoutMs, caFile: p.caFile, into: &clientSets)
        }
        var providers: [String: any Provider] = [:]
        for p in config.providers {
            switch p.type {
            case .simulated:
                providers[p.name] = SimulatedProvider(name: p.name, settings: .init(latencyMs: p.latencyMs, chunkMs: p.chunkMs))
            case .openai, .openaiCompatible, .azureOpenAI:
                let dialect: OpenAIProvider.Dialect =
                    p.type == .azureOpenAI
                    ? .azure(apiVersion: p.apiVersion ?? SluiceConfig.Provider.defaultAzureAPIVersion) : .openAI
                let settings = OpenAIProvider.Settings(
                    baseURL: p.baseURL ?? "https://api.openai.com/v1", apiKey: p.apiKey, headers: p.headers,
                    timeout: .milliseconds(Int64(p.timeoutMs)), dialect: dialect,
                    nativeResponses: p.type == .openai || p.type == .azureOpenAI, keyPool: Self.keyPool(p, clock: clock))
                providers[p.name] = OpenAIProvider(
                    name: p.name, settings: settings, clients: clients(p))
            case .anthropic:
                let settings = AnthropicProvider.Settings(
                    baseURL: p.baseURL ?? "https://api.anthropic.com/v1", apiKey: p.apiKey, headers: p.headers,
                    timeout: .milliseconds(Int64(p.timeoutMs)), keyPool: Self.keyPool(p, clock: clock))
                providers[p.name] = AnthropicProvider(
                    name: p.name, settings: settings, clients: clients(p))
            case .gemini:
                providers[p.name] = GeminiProvider(
                    name: p.name, baseURL: p.baseURL ?? "https://generativelanguage.googleapis.com/v1beta", apiKey: p.apiKey,
                    headers: p.headers, timeout: .milliseconds(Int64(p.timeoutMs)),
                    clients: clients(p), keyPool: Self.keyPool(p, clock: clock))
            case .bedrock:
                guard let aws = p.bedrock else { continue }  // the loader always resolves it
                var settings = BedrockProvider.Settings(
                    region: aws.region, credentials: aws.credentials, baseURL: p.baseURL, headers: p.headers,
                    timeout: .milliseconds(Int64(p.timeoutMs)), clock: clock)
                settings.pool = aws.pool
                providers[p.name] = BedrockProvider(name: p.name, settings: settings, clients: clients(p))
            case .vertex:
                guard let gcp = p.vertex else { continue }  // the loader always resolves it
                var settings = VertexProvider.Settings(
                    project: gcp.project, location: gcp.location, baseURL: p.baseURL, credentials: gcp.credentials,
                    headers: p.headers, timeout: .milliseconds(Int64(p.timeoutMs)), clock: clock)
                settings.pool = gcp.pool
                providers[p.name] = VertexProvider(name: p.name, settings: settings, clients: clients(p))
            }
        }
        catalog = ModelCatalog(config: config, providers: providers)
        keyRing = KeyRing(keys: config.auth.keys, adminKey: config.auth.adminKey, clock: clock)
        runtimeKeys = KeyBoard(ring: keyRing, store: store, feed: store.changes, clock: clock, logger: logger)
        callLog = CallLogWriter(store: store, logger: logger)
        node = Self.makeNodeID()
        quotas = QuotaLeaser(store: store, node: node, clock: clock, logger: logger)
        authThrottle = AuthThrottle(limit: config.server.authFailuresPerMinute, clock: clock)
        endUsers = EndUserBoard(store: store, feed: store.changes, clock: clock, logger: logger)
        budget = BudgetGuard(config: config, leaser: quotas, clock: clock, logger: logger, endUsers: endUsers, feed: store.changes)
        alerts = AlertService(config: config, store: store, budget: budget, clock: clock, logger: logger)
        let registry = PrometheusCollectorRegistry()
        let callMetrics = CallMetrics(registry: registry, config: config)
        traces = CallTracer.make(for: config, logger: logger)
        let recorder = CallRecorder(
            callLog: callLog, prices: PriceTable(overrides: config.pricing), logBodies: config.storage.logBodies, logger: logger,
            budget: budget, metrics: callMetrics, traces: traces)
        breakers = BreakerBoard(settings: config.breaker, clock: clock, configured: Set(catalog.targetKeys))
        kills = KillBoard(store: store, feed: store.changes, clock: clock, logger: logger)
        metrics = GatewayMetrics(
            registry: registry, calls: callMetrics, breakers: breakers, targetKeys: catalog.targetKeys,
            keyPools: Self.keyPools(config, catalog))
        cache = ResponseCache(store: store, maxBytes: config.cache.maxBytes, clock: clock, logger: logger)
        live = LiveConfig(config: config, prompts: library)
        prompts = PromptBook(live: live)
        flags = FlagService(store: store, live: live, prompts: prompts, clock: clock, logger: logger)
        rolloutGuard = RolloutGuard(store: store, flags: flags, interval: guardInterval, logger: logger)
        chat = ChatService(
            catalog: catalog, recorder: recorder, clock: clock, live: live,
            runner: AttemptRunner(breakers: breakers, kills: kills, traces: traces), cache: cache, reviews: store, budget: budget,
            refusals: RefusalDetector(phrases: config.refusalPhrases ?? RefusalDetector.defaultPhrases),
            classifiers: ClassifierGuards(
                clients: Self.clients(connectMs: 2_000, readMs: nil, into: &clientSets), catalog: catalog,
                prices: PriceTable(overrides: config.pricing), logger: logger))
        shadows = ShadowRunner(chat: chat, ledger: store, clock: clock, logger: logger) { [live] in live.config.purposes[$0]?.shadow }
        chat.hooks.shadows = shadows
        purposes = PurposeRunner(chat: chat, prompts: prompts, live: live, shadows: shadows)
        feedback = FeedbackService(store: store, callLog: callLog, clock: clock)
        let webhooks = TaskWebhooks(store: store, secret: config.tasks.webhookSecret ?? config.auth.adminKey, clock: clock, logger: logger)
        taskWebhooks = webhooks
        var responsesService = ResponsesService(
            chat: chat, store: store, clock: clock, retention: config.responses.retentionDays * 86_400, logger: logger)
        let workers = TaskWorkers(
            store: store, config: config, chat: chat, purposes: purposes, webhooks: webhooks, node: node, clock: clock, logger: logger,
            responses: responsesService, keyRing: keyRing)
        taskWorkers = workers
        responsesService.background = ResponsesBackground(
            tasks: store, responses: store, maxAttempts: config.tasks.maxAttempts, clock: clock) { workers.wake() }
        responses = responsesService
        idempotency = IdempotencyGate(store: store, clock: clock)
        var tasks = TaskService(store: store, config: config, live: live, clock: clock, webhooks: webhooks) { workers.wake() }
        tasks.preflight = TaskPreflight(chat: chat, purposes: purposes)
        self.tasks = tasks
        taskSweeper = TaskSweeper(store: store, config: config.tasks, webhooks: webhooks, clock: clock, logger: logger) { workers.wake() }
        taskBatcher = TaskBatcher(
            store: store, config: config, chat: chat, purposes: purposes, webhooks: webhooks, clock: clock, logger: logger,
            keyRing: keyRing)
        maintenance = StoreMaintenance(store: store, clock: clock, logger: logger)
        responseSweeper = ResponseSweeper(store: store, config: config.responses, clock: clock, logger: logger)
        changes = ChangeWatcher(feed: store.changes, logger: logger)
        httpClients = Array(clientSets.values)
        let kills = self.kills
        changes.on(KillBoard.topic) { _ in await kills.reloadLogged() }
        let flags = self.flags
        changes.on(FlagService.topic) { _ in await flags.reloadLogged() }
        let runtimeKeys = self.runtimeKeys
        changes.on(KeyBoard.topic) { _ in await runtimeKeys.reloadLogged() }
        let endUsers = self.endUsers
        changes.on(EndUserBoard.topic) { _ in await endUsers.reloadLogged() }
        let quotas = self.quotas
        changes.on(QuotaLeaser.topic) { event in await quotas.release(event) }
    }

    /// Upstream clients with these timeouts and trusted CA file (`ca_file`), shared by providers that use the same ones.
    static func clients(connectMs: Int, readMs: Int?, caFile: String? = nil, into sets: inout [String: HTTPClients]) -> HTTPClients {
        let key = "\(connectMs)/\(readMs ?? 0)/\(caFile ?? "")"
        if let c = sets[key] { return c }
        var config = HTTPClient.Configuration()
        // Streams hold a connection for their whole length: 2,000 open streams need 2,000
        // connections (at 512 a loop, half of them queued for one, bench/run.sh's streams point).
        config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: HTTPClients.connectionsPerHost)
        // Sluice retries and falls back itself; a refused connection must fail now, not after the connect timeout.
        config.connectionPool.retryConnectionEstablishment = false
        config.decompression = .disabled
        config.timeout = .init(connect: .milliseconds(Int64(connectMs)), read: readMs.map { .milliseconds(Int64($0)) })
        if let caFile { config.tlsConfiguration = HTTPClients.tlsConfiguration(trustingCAFile: caFile) }
        let c = HTTPClients(configuration: config)
        sets[key] = c
        return c
    }

    /// Loads what the hot path reads from memory (kill switches, flags, runtime keys, end-user overrides); call before serving.
    public func start() async throws {
        try await kills.reload()
        try await runtimeKeys.reload()
        try await endUsers.reload()
        try await flags.reload()
    }

    static func makeNodeID() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "node"
        return "\(host)-\(ProcessInfo.processInfo.processIdentifier)-\(String(UInt32.random(in: .min ... .max), radix: 36))"
    }

    /// The long-running parts, in start order (they stop in reverse): the span
    /// exporter (when tracing), the call log, the cache writer, store upkeep, quota leases, the change watcher,
    /// alerts, tasks, the rollout guard, shadows, the eval scheduler (`evals:`) and the response sweeper.
    public var services: [any Service] { (traces.map { [$0.service] } ?? []) + [callLog, cache.writer, maintenance, quotas, changes, alerts, taskWebhooks, taskSweeper, taskWorkers, taskBatcher, rolloutGuard, shadows, evalScheduler, reviewScheduler, responseSweeper, MemoryTrimmer()] }

    /// Reads the prompt files of `config` and checks every purpose's prompt; throws the first problem.
    public static func loadPrompts(_ config: SluiceConfig) throws -> PromptLibrary {
        let library = try PromptLoader.load(directory: config.resolvedPromptsDir)
        try ConfigLoader.validatePrompts(config, library: library)
        return library
    }

    /// Re-reads the config and prompt files (``reload()``); a broken set is refused and the old one stays live.
    @discardableResult
    public func reloadPrompts() throws -> PromptLibrary {
        try reload().prompts
    }

    /// Stores the configured keys as hashes.
    public func syncKeys() async throws {
        try await store.upsertKeys(keyRing.storedKeys)
    }

    /// Closes the HTTP client; call after the server and call log have stopped.
    public func shutdown() async throws {
        for c in httpClients { try await c.shutdown() }
    }
}
