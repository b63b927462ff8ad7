import Foundation
import NIOCore
import SluiceCore
import SluiceJSONSchema
import SluiceProviders
import SluiceStore

/// The answer to one chat call, ready for the HTTP edge.
public enum ChatReply: Sendable {
    /// A complete JSON body with its status.
    case json(status: Int, body: [UInt8], meta: ResponseMeta)
    /// An error, already recorded.
    case failure(SluiceError, meta: ResponseMeta)
    /// An open stream; the edge writes its frames.
    case stream(StreamRelay, meta: ResponseMeta)
    /// A complete server-sent-events body (a degraded answer to a stream request).
    case events([UInt8], meta: ResponseMeta)
}

/// The chat pipeline: decode → attribute → admit → route → call the provider →
/// price → record. Every call that passes authentication ends as a call record,
/// failed ones included.
public struct ChatService: Sendable {
    let catalog: ModelCatalog
    let recorder: CallRecorder
    let clock: any WallClock
    /// The live purpose settings (config plus flags).
    let live: LiveConfig
    /// The current call policies.
    var policies: CallPolicies { live.policies }
    let runner: AttemptRunner
    /// The response cache; `nil` turns caching off.
    let cache: ResponseCache?
    /// The review queue; `nil` when reviews cannot be stored.
    let reviews: (any ReviewStore)?
    /// Budgets and rate limits; `nil` turns them off.
    let budget: BudgetGuard?
    /// Compiled output schemas, compiled once each.
    let schemas = JSONSchemaCache()
    /// Refusal phrases and signals.
    let refusals: RefusalDetector
    var kills: KillBoard { runner.kills }
    /// What runs after a call has its answer (shadows); set once when the gateway starts.
    let hooks = CallHooks()
    /// The outside classifiers of guard rules (webhook, moderation, judge); `nil` runs none.
    var classifiers: ClassifierGuards? = nil

    /// The pipeline behind ``handle(body:attribution:identity:start:eventLoop:prompt:)``,
    /// without the after-call hooks.
    func process(
        body: [UInt8], attribution headerAttribution: Attribution, identity: Identity,
        start: ContinuousClock.Instant = .now, eventLoop: (any EventLoop)? = nil, prompt: PromptRef? = nil,
        native: NativeRequest? = nil
    ) async -> ChatReply {
        var (request, ctx): (ChatRequest, CallContext)
        switch await decode(ChatRequest.self, body: body, attribution: headerAttribution, identity: identity, start: start) {
        case .answer(let reply): return reply
        case .next(let decoded): (request, ctx) = decoded
        }
        ctx.prompt = prompt
        if request.stream, let first = policies[ctx.purpose].cascade.first, request.model == first {
            // A cascade judges whole answers: run it whole, then replay the answer as the stream asked for.
            return await cascadeStream(
                body: body, includeUsage: request.clientWantsUsage, attribution: headerAttribution, identity: identity,
                start: start, eventLoop: eventLoop, prompt: prompt)
        }
        var record = recorder.start(ctx, request: request, model: request.model, rawBody: body)
        record.variant = headerAttribution.variant
        record.shadowOf = headerAttribution.shadowOf
        record.promptName = prompt?.name
        record.promptVersion = prompt?.version
        let targets: [ResolvedTarget]
        switch await route(request.model, record: &record, ctx: ctx) {
        case .answer(let reply): return reply
        case .next(let t): targets = t
        }
        // Admission (blocked end users, rates, run limits) before the input is checked: a refused
        // call pays for no outside classifier.
        let limits = budget.flatMap { $0.applies(ctx) ? $0 : nil }
        if let limits {
            do { try await limits.admit(ctx) } catch { return await fail(&record, error, ctx: ctx) }
        }
        let input: InputCheck
        switch await checkInput(request, body: request.body, record: &record, ctx: ctx) {
        case .answer(let reply): return reply
        case .next(let checked): input = checked
        }
        // The client's own request, for the targets that take its format (ChatService+Native).
        let passthrough: NativeRequest?
        switch await nativePlan(native, request: request, targets: targets, input: input, record: &record, ctx: ctx) {
        case .answer(let reply): return reply
        case .next(let n): passthrough = n
        }
        // A request with native-only features is not cached: its key would not see them.
        var plan = passthrough?.nativeOnly.isEmpty == false ? nil : cachePlan(request, body: input.body, ctx: ctx, prompt: prompt)
        if plan != nil {
            record.cache = "miss"
            if let hit = await lookUp(&plan!, request: request, redaction: input.redaction, record: &record, ctx: ctx) {
                return hit
            }
        }
        if let limits {
            let observed = limits.observedOutputTokens(purpose: ctx.purpose, model: request.model)
            let (inputTokens, outputTokens) = Self.worstCaseTokens(input.body, defaultOutput: observed ?? BudgetGuard.defaultOutputTokens)
            // Schema repairs are more calls: each resends the conversation plus the last answer.
            let runs = input.schema == nil || request.stream ? 1 : 1 + policies[ctx.purpose].repairAttempts
            do {
                try await limits.reserveSpend(
                    ctx, model: request.model, targets: targets, laterStages: cascadeTargets(request.model, ctx: ctx),
                    inputTokens: inputTokens * runs + outputTokens * (runs - 1),
                    outputTokens: outputTokens * runs, blanket: observed == nil && !Self.setsMaxTokens(input.body))
            } catch {
                return await fail(&record, error, ctx: ctx)
            }
        }
        var upstreamBody = input.body
        // SPEC: the body's metadata is never forwarded upstream.
        upstreamBody.removeValue(forKey: "metadata")
        if request.stream {
            var options = upstreamBody["stream_options"]?.objectValue ?? JSONObject()
            options["include_usage"] = true
            upstreamBody["stream_options"] = .object(options)
        }
        let prepared = upstreamBody
        let policy = policies[ctx.purpose]
        let deadline = policy.timeout.map { start + $0 }
        let stream = request.stream
        let outcome = await runner.run(
            targets: targets, policy: policy, deadline: deadline, purpose: ctx.purpose, stream: stream, record: &record,
            skip: Self.nativeSkip(passthrough)
        ) { target async throws(ProviderError) -> Answer in
            var body = prepared
            body["model"] = .string(target.model)
            let upstream = UpstreamRequest(
                body: body, model: target.model, stream: stream, eventLoop: eventLoop,
                native: Self.native(passthrough, for: target, stream: stream))
            if stream {
                let chunks = try await target.provider.stream(upstream)
                // Wait for the first chunk before answering 200: a stream that fails
                // before producing anything falls back like any call.
                return .stream(chunks, first: try await chunks.next())
            }
            return .complete(try await target.provider.complete(upstream))
        }
        switch outcome {
        case .failure(let error):
            if let fallback = policy.fallbackResponse, Self.degradable.contains(error.code) {
                return await degrade(&record, fallback: fallback, because: error, request: request, ctx: ctx)
            }
            return await fail(&record, error, ctx: ctx)
        case .success(.stream(let chunks, let first), let target, let firstStart, let ticket):
            return await openStream(
                chunks, first: first, target: target, firstStart: firstStart, ticket: ticket, request: request, ctx: ctx,
                record: record, cache: plan, input: input)
        case .success(.complete(let response), let target, let firstStart, _):
            let reply = await finishComplete(
                response, target: target, firstStart: firstStart, request: request, input: input, plan: plan, targets: targets,
                record: &record, ctx: ctx, eventLoop: eventLoop)
            return Self.passNative(reply, response)
        }
    }

    /// The most tokens a request can use: its text at about three characters a
    /// token (rounded up, plus framing), and `max_tokens` (or `defaultOutput`) for each of its `n` answers.
    static func worstCaseTokens(_ body: JSONObject, defaultOutput: Int = BudgetGuard.defaultOutputTokens) -> (input: Int, output: Int) {
        var chars = 0
        var messages = 0
        for m in body["messages"]?.arrayValue ?? [] {
            messages += 1
            chars += ChatText.content(m["content"]).utf8.count
            if let calls = m["tool_calls"] { chars += calls.jsonString.utf8.count }
        }
        if let tools = body["tools"] { chars += tools.jsonString.utf8.count }
        let input = (chars + 2) / 3 + 4 * messages + 8
        let perAnswer = body["max_completion_tokens"]?.intValue ?? body["max_tokens"]?.intValue ?? defaultOutput
        return (input, perAnswer * max(1, body["n"]?.intValue ?? 1))
    }

    /// Whether the request caps its own output (`max_tokens` or `max_completion_tokens`).
    static func setsMaxTokens(_ body: JSONObject) -> Bool {
        body["max_completion_tokens"]?.intValue != nil || body["max_tokens"]?.intValue != nil
    }

    /// What one successful attempt produced.
    enum Answer: Sendable {
        case complete(UpstreamResponse)
        case stream(any ChunkStream, first: StreamChunk?)
    }

    /// Failures a purpose's `fallback_response` stands in for (not bad requests, not kill switches).
    static let degradable: Set<SluiceError.Code> = [.upstreamError, .breakerOpen, .timeout]

    /// 503 `disabled` for a kill switch.
    static func disabled(_ k: KillSwitch) -> SluiceError {
        SluiceError(
            .disabled,
            "The \(k.scope.rawValue) '\(k.name)' is switched off by a kill switch: \(k.reason) "
                + "(set by \(k.actor) at \(Timestamp.iso8601(k.createdAt))). "
                + "Turn it back on with `sluice unkill --\(k.scope.rawValue) \(k.name)`.")
    }

    /// Records what can be recorded of a request that did not parse, and answers its error.
    func failUnparsed(
        body: [UInt8], error: any Error, attribution: Attribution, identity: Identity, start: ContinuousClock.Instant
    ) async -> ChatReply {
        let err = error as? SluiceError ?? SluiceError(.internalError, "\(error)")
        var ctx = CallContext(
            callID: IDs.callID(at: clock.now()), createdAt: clock.now(), start: start, identity: identity,
            purpose: attribution.purpose.flatMap { CallContext.validName($0) ? $0 : nil } ?? "default",
            runID: attribution.runID, user: attribution.user, cacheMode: "default")
        ctx.surface = attribution.surface ?? Surface.chat.rawValue
        let model = (try? JSON.parse(body))?["model"]?.stringValue ?? ""
        var record = recorder.start(ctx, request: nil, model: model)
        record.shadowOf = attribution.shadowOf
        return await fail(&record, err, ctx: ctx)
    }

    func fail(_ record: inout CallRecord, _ error: SluiceError, ctx: CallContext) async -> ChatReply {
        record.status = .error
        record.error = error.message
        record.httpStatus = error.code.status
        record.latencyMs = (ContinuousClock.now - ctx.start).milliseconds
        var meta = ResponseMeta(callID: ctx.callID)
        meta.provider = record.provider
        meta.attempts = record.attempts.count
        await recorder.finish(record, output: nil, errorCode: error.code.name)
        return .failure(error, meta: meta)
    }
}
