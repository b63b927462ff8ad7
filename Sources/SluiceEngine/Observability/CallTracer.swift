import Foundation
import Logging
import OTel
import ServiceLifecycle
import SluiceCore
import Synchronization
import Tracing

/// OpenTelemetry spans for calls: one per call (kind server for HTTP requests,
/// internal for calls Sluice makes itself; named after the GenAI operation and
/// requested model, `chat fast`), one per upstream attempt
/// under it (kind client). Built from `tracing:` only; a gateway without it has
/// no tracer and each call pays one `nil` check.
///
/// The tracer is this gateway's own instance, never the process-global
/// `InstrumentationSystem`, so several gateways can live in one process.
public final class CallTracer: Sendable {
    /// What a call does, as `gen_ai.operation.name` has it.
    enum Operation: String, Sendable {
        case chat, embeddings
    }

    /// A call between its record's start and finish. Its span starts lazily, at
    /// the first attempt or at the finish, back-dated to the call's start.
    struct OpenCall: Sendable {
        var parent: ServiceContext
        var kind: SpanKind
        var startNanos: UInt64
        var operation: Operation
        var model: String
        var span: (any Span)?
    }

    /// The tracer spans start from.
    let tracer: any Tracer
    /// Exports finished spans in batches, and what is left when it stops. Runs
    /// first among the gateway's services, so that it stops last.
    public let service: any Service
    /// `gen_ai.provider.name` by configured provider name.
    let providerNames: [String: String]
    private let open = Mutex<[String: OpenCall]>([:])
    private let logger: Logger
    private let warnedFull = Atomic<Bool>(false)
    /// Calls traced at once; beyond this new calls go untraced (a warning says so once).
    static let maxOpen = 100_000

    /// A tracer around `tracer` whose spans `service` exports.
    init(tracer: any Tracer, service: any Service, providers: [SluiceConfig.Provider], logger: Logger) {
        self.tracer = tracer
        self.service = service
        self.logger = logger
        var names: [String: String] = [:]
        for p in providers { names[p.name] = Self.genAIProviderName(p) }
        providerNames = names
    }

    /// The tracer of a gateway: `nil` without `tracing:`, or (logged) when the
    /// exporter cannot be built; tracing never keeps a gateway from starting.
    static func make(for config: SluiceConfig, logger: Logger) -> CallTracer? {
        guard let tracing = config.tracing else { return nil }
        do {
            return try make(tracing, providers: config.providers, logger: logger)
        } catch {
            logger.error("tracing is off: the OTLP exporter could not be set up", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// The tracer for `config`: an OTLP/HTTP (protobuf) exporter behind a batch
    /// processor. The standard `OTEL_*` environment variables override the file,
    /// as the OpenTelemetry specification has it.
    public static func make(_ config: SluiceConfig.Tracing, providers: [SluiceConfig.Provider], logger: Logger) throws -> CallTracer {
        var c = OTel.Configuration.default
        c.serviceName = config.serviceName
        c.diagnosticLogger = .custom(logger)
        c.logs.enabled = false
        c.metrics.enabled = false
        c.traces.sampler = .parentBasedTraceIDRatio(ratio: config.sampleRatio) ?? .parentBasedAlwaysOn
        c.traces.otlpExporter.endpoint = config.tracesURL
        c.traces.otlpExporter.protocol = .httpProtobuf
        c.traces.otlpExporter.headers = config.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let backend = try OTel.makeTracingBackend(configuration: c)
        return CallTracer(tracer: backend.factory, service: backend.service, providers: providers, logger: logger)
    }

    /// The well-known `gen_ai.provider.name` of a provider type; the configured
    /// name for OpenAI-compatible and simulated providers.
    static func genAIProviderName(_ p: SluiceConfig.Provider) -> String {
        switch p.type {
        case .openai: "openai"
        case .anthropic: "anthropic"
        case .gemini: "gcp.gemini"
        case .bedrock: "aws.bedrock"
        case .vertex: "gcp.vertex_ai"
        case .azureOpenAI: "azure.ai.openai"
        case .openaiCompatible, .simulated: p.name
        }
    }

    // MARK: Calls

    /// Opens the span of a call. Its parent is the client's trace context when
    /// the request carried one (see ``withClientContext(traceparent:tracestate:_:)``).
    func begin(_ ctx: CallContext, operation: Operation, model: String) {
        let parent = ServiceContext.current
        let elapsed = ContinuousClock.now - ctx.start
        let nowNanos = Date().timeIntervalSince1970 * 1e9
        let call = OpenCall(
            parent: parent ?? .topLevel, kind: parent == nil ? .internal : .server,
            startNanos: UInt64(max(0, nowNanos - elapsed.nanoseconds)), operation: operation, model: model)
        let stored = open.withLock { calls -> Bool in
            // A batch call is started again when its batch ends: it keeps its span.
            if calls[ctx.callID] != nil { return true }
            if calls.count >= Self.maxOpen {
                // Batch calls whose batch ended elsewhere (another node) never finish here; they
                // hold no span yet, and a batch call started again when its batch ends gets a new one.
                let cutoff = call.startNanos &- min(call.startNanos, 3_600_000_000_000)
                calls = calls.filter { $0.value.span != nil || $0.value.startNanos >= cutoff }
                guard calls.count < Self.maxOpen else { return false }
            }
            calls[ctx.callID] = call
            return true
        }
        if !stored, !warnedFull.exchange(true, ordering: .relaxed) {
            logger.warning("more than \(Self.maxOpen) calls in flight: calls beyond that are not traced")
        }
    }

    /// The context of a call's span (starting it if it has not started), for its
    /// attempts; `nil` when the call is not traced.
    func context(of callID: String) -> (ServiceContext, Operation)? {
        open.withLock { calls in
            guard var call = calls[callID] else { return nil }
            if let span = call.span { return (span.context, call.operation) }
            let span = startSpan(call)
            call.span = span
            calls[callID] = call
            return (span.context, call.operation)
        }
    }

    /// Ends a call's span with what its record says.
    func end(_ record: CallRecord, finishReasons: [String]) {
        guard let call = open.withLock({ $0.removeValue(forKey: record.callID) }) else { return }
        let span = call.span ?? startSpan(call)
        span.updateAttributes { a in
            a["gen_ai.operation.name"] = call.operation.rawValue
            a["gen_ai.request.model"] = record.model
            if let p = record.provider {
                a["gen_ai.provider.name"] = providerNames[p] ?? p
                a["sluice.provider"] = p
            }
            if let m = record.answeredModel { a["gen_ai.response.model"] = m }
            a["gen_ai.usage.input_tokens"] = record.usage.inputTokens
            a["gen_ai.usage.output_tokens"] = record.usage.outputTokens
            a["gen_ai.usage.cache_read.input_tokens"] = record.usage.cachedTokens
            if record.usage.cacheWriteTokens > 0 { a["gen_ai.usage.cache_creation.input_tokens"] = record.usage.cacheWriteTokens }
            if !finishReasons.isEmpty { a["gen_ai.response.finish_reasons"] = finishReasons }
            if let name = record.promptName { a["gen_ai.prompt.name"] = name }
            if let version = record.promptVersion { a["sluice.prompt_version"] = version }
            if let variant = record.variant { a["sluice.variant"] = variant }
            if let cost = record.costUSD { a["sluice.cost_usd"] = cost }
            a["sluice.purpose"] = record.purpose
            a["sluice.call_id"] = record.callID
            if let run = record.runID { a["sluice.run_id"] = run }
            a["sluice.status"] = record.status.rawValue
            a["sluice.cache"] = record.cache
            a["sluice.attempts"] = record.attempts.count
            a["http.response.status_code"] = record.httpStatus
            if record.status == .error || record.status == .streamInterrupted { a["error.type"] = String(record.httpStatus) }
        }
        switch record.status {
        case .error, .streamInterrupted: span.setStatus(SpanStatus(code: .error, message: record.error))
        case .ok, .degraded: break
        }
        span.end()
    }

    private func startSpan(_ call: OpenCall) -> any Span {
        tracer.startSpan(
            "\(call.operation.rawValue) \(call.model)", context: call.parent, ofKind: call.kind,
            at: DefaultTracerClock.Timestamp(nanosecondsSinceEpoch: call.startNanos))
    }
}

extension Duration {
    /// The duration in nanoseconds, as a `Double`.
    fileprivate var nanoseconds: Double {
        let c = components
        return Double(c.seconds) * 1e9 + Double(c.attoseconds) / 1e9
    }
}
