import Foundation
import Logging
import SluiceCore
import SluiceStore
import Synchronization

/// Turns a finished call into a ``CallRecord``: applies the body policy, prices
/// the usage, writes the JSON log line and queues the record.
public final class CallRecorder: Sendable {
    let callLog: CallLogWriter
    let prices: PriceTable
    let logBodies: SluiceConfig.LogBodies
    /// Prometheus series every finished call counts in.
    let metrics: CallMetrics?
    let logger: Logger
    /// Settles the call's budget and rate-limit reservations when it finishes.
    let budget: BudgetGuard?
    /// A span per call; `nil` when tracing is off.
    let traces: CallTracer?
    private let warnedUnpriced = Mutex<Set<String>>([])

    init(
        callLog: CallLogWriter, prices: PriceTable, logBodies: SluiceConfig.LogBodies, logger: Logger, budget: BudgetGuard? = nil,
        metrics: CallMetrics? = nil, traces: CallTracer? = nil
    ) {
        self.metrics = metrics
        self.traces = traces
        self.callLog = callLog
        self.prices = prices
        self.logBodies = logBodies
        self.logger = logger
        self.budget = budget
    }

    /// A new record for a call with the request's fields and body per policy.
    /// `rawBody` is the client's bytes; when the request kept them unchanged they
    /// are stored as they are instead of serializing the body again.
    func start(
        _ ctx: CallContext, request: ChatRequest?, model: String, rawBody: [UInt8]? = nil, operation: CallTracer.Operation = .chat
    ) -> CallRecord {
        traces?.begin(ctx, operation: operation, model: model)
        var r = CallRecord(callID: ctx.callID, createdAt: ctx.createdAt, purpose: ctx.purpose, model: model)
        r.runID = ctx.runID
        r.user = ctx.user
        r.keyName = ctx.identity.keyName
        r.surface = ctx.surface
        if let request {
            r.stream = request.stream
            r.params = request.params
            var hashInput: [UInt8] = []
            JSON.array(request.messages).write(to: &hashInput)
            JSON.object(request.params).write(to: &hashInput)
            r.inputHash = Hashing.sha256Hex(hashInput)
            (r.inputChars, r.inputScript) = ScriptClassifier.measure(request.messages.lazy.map { ChatText.content($0["content"]) })
            switch logBodies {
            case .full:
                if let rawBody, request.sluiceMetadata.isEmpty {
                    r.requestBody = String(decoding: rawBody, as: UTF8.self)
                } else {
                    r.requestBody = JSON.object(request.body).jsonString
                }
            case .redacted: r.requestBody = JSON.object(Self.redacted(request.body)).jsonString
            case .hash: r.requestBody = nil
            }
        }
        return r
    }

    /// A new record for an embeddings call, with its body per policy (the inputs' text never in `redacted` mode).
    func start(_ ctx: CallContext, embedding request: EmbeddingRequest, rawBody: [UInt8]) -> CallRecord {
        var r = start(ctx, request: nil, model: request.model, operation: .embeddings)
        r.params = request.params
        var hashInput: [UInt8] = []
        (request.body["input"] ?? .null).write(to: &hashInput)
        JSON.object(request.params).write(to: &hashInput)
        r.inputHash = Hashing.sha256Hex(hashInput)
        switch logBodies {
        case .full: r.requestBody = request.sluiceMetadata.isEmpty ? String(decoding: rawBody, as: UTF8.self) : JSON.object(request.body).jsonString
        case .redacted:
            var body = request.body
            body["input"] = .string("[redacted: \(request.inputs.count) input(s), \(request.inputs.reduce(0) { $0 + $1.count }) chars]")
            r.requestBody = JSON.object(body).jsonString
        case .hash: r.requestBody = nil
        }
        return r
    }

    /// Sets `record.costUSD` and `record.savedUSD` from its usage and answered model
    /// (see ``PriceTable/price(target:answered:)``); an unpriced model costs `nil`.
    /// A call sent in a task batch (`batchID` set) is priced at the model's batch prices.
    func price(_ record: inout CallRecord, target: String) {
        let standard = priceOf(target: target, answered: record.answeredModel)
        let p = record.batchID == nil ? standard : standard?.batch
        record.costUSD = p?.cost(of: record.usage)
        record.savedUSD = p?.savings(of: record.usage) ?? 0
    }

    /// The price of a call; warns once per unpriced model.
    private func priceOf(target: String, answered: String?) -> ModelPrice? {
        if let p = prices.price(target: target, answered: answered) { return p }
        let key = answered ?? target
        let first = warnedUnpriced.withLock { set -> Bool in
            guard set.count < 1000 else { return false }
            return set.insert(key).inserted
        }
        if first {
            logger.warning(
                "model has no price; its calls are recorded with cost null. Add it under 'pricing:'",
                metadata: ["model": "\(key)"])
        }
        return nil
    }

    /// Sets the output per policy, logs the call line, ends the call's span
    /// (`finishReasons` are the answer's, for it) and queues the record.
    /// `errorCode` is the failure's SPEC code, for the log line's budget decision.
    func finish(_ record: consuming CallRecord, output: String?, finishReasons: [String] = [], errorCode: String? = nil) async {
        var r = record
        // What classifier guards (a judge) cost is the call's too: recorded, budgeted, never dropped.
        let guardCost = r.guardVerdicts.reduce(0) { $0 + ($1.costUSD ?? 0) }
        if guardCost > 0 { r.costUSD = (r.costUSD ?? 0) + guardCost }
        budget?.settle(r)
        switch logBodies {
        case .full: r.output = output
        case .redacted: r.output = output.map { "[redacted: \($0.count) chars]" }
        case .hash: r.output = nil
        }
        if r.outputSentiment == nil, let output, !output.isEmpty, r.status == .ok, r.toolCalls.isEmpty || !output.hasPrefix("[") {
            r.outputSentiment = SentimentScorer.score(output)
        }
        r.toolCalls = Self.kept(r.toolCalls, logBodies)
        let fields = CallLogLine.fields(r, errorCode: errorCode)
        logger.info("call", metadata: ["call": .stringConvertible(LogFields(fields))])
        metrics?.observe(r)
        traces?.end(r, finishReasons: finishReasons)
        await callLog.append(r)
    }

    /// Tool calls per `storage.log_bodies`: whole (`full`), the name and the arguments' length
    /// (`redacted`), the name only (`hash`).
    static func kept(_ calls: [ToolCall], _ policy: SluiceConfig.LogBodies) -> [ToolCall] {
        switch policy {
        case .full: return calls
        case .redacted: return calls.map { ToolCall(name: $0.name, arguments: "[redacted: \($0.arguments?.count ?? 0) chars]") }
        case .hash: return calls.map { ToolCall(name: $0.name, arguments: nil) }
        }
    }

    /// The body with every message's text replaced by its length.
    static func redacted(_ body: JSONObject) -> JSONObject {
        var out = body
        guard let messages = body["messages"]?.arrayValue else { return out }
        out["messages"] = .array(
            messages.map { m in
                guard var obj = m.objectValue else { return m }
                let text = ChatText.content(obj["content"])
                if obj["content"] != nil { obj["content"] = .string("[redacted: \(text.count) chars]") }
                return .object(obj)
            })
        return out
    }
}

extension Duration {
    /// The duration in milliseconds.
    var milliseconds: Double {
        let c = components
        return Double(c.seconds) * 1000 + Double(c.attoseconds) / 1e15
    }
}
