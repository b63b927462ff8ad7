import Foundation
import SluiceCore
import SluiceProviders
import SluiceStore

/// How one call uses the response cache.
struct CachePlan: Sendable {
    var key: CacheKey
    /// `default` looks up and stores; `refresh` only stores.
    var mode: String
    var ttl: Double
    var semantic: SluiceConfig.CachePolicy?
    /// The user input's embedding, once computed for a semantic lookup.
    var vector: [Float]?
}

extension ChatService {
    /// The call's cache plan: `nil` (bypass) unless its purpose has a cache or the
    /// client opted in with `X-Sluice-Cache`; `bypass` always bypasses.
    /// `body` is the request as the provider will see it (personal data already
    /// replaced by placeholders), so keys and embedded text never hold it.
    func cachePlan(_ request: ChatRequest, body: JSONObject, ctx: CallContext, prompt: PromptRef?) -> CachePlan? {
        guard cache != nil, ctx.cacheMode != "bypass" else { return nil }
        let policy = policies[ctx.purpose]
        let ttl: Double
        if let c = policy.cache {
            ttl = c.ttlSeconds
        } else if ctx.cacheRequested {
            ttl = policy.defaultCacheTTL
        } else {
            return nil
        }
        let key = CacheKey(purpose: ctx.purpose, model: request.model, body: body, prompt: prompt)
        return CachePlan(key: key, mode: ctx.cacheMode, ttl: ttl, semantic: policy.cache?.semantic == true ? policy.cache : nil)
    }

    /// Looks the call up (exact, then semantic); a hit is recorded and answered.
    func lookUp(
        _ plan: inout CachePlan, request: ChatRequest, redaction: PIIRedaction?, record: inout CallRecord, ctx: CallContext
    ) async -> ChatReply? {
        guard let cache else { return nil }
        if plan.mode == "default", let entry = await cache.get(plan.key.exact) {
            return await serveHit(entry, similarity: nil, request: request, redaction: redaction, record: &record, ctx: ctx)
        }
        guard let semantic = plan.semantic, let model = semantic.embeddingModel else { return nil }
        let userText = plan.key.userText
        guard !userText.isEmpty else { return nil }
        // Embedded on `refresh` too, so that the stored answer can be found by similar inputs.
        guard let vector = await embed(userText, model: model, ctx: ctx) else { return nil }
        plan.vector = vector
        guard plan.mode == "default" else { return nil }
        if let (entry, similarity) = await cache.nearest(
            scope: plan.key.scope, vector: vector, threshold: semantic.threshold, maxEntries: semantic.maxEntries)
        {
            return await serveHit(entry, similarity: similarity, request: request, redaction: redaction, record: &record, ctx: ctx)
        }
        return nil
    }

    /// Embeds `text` through the gateway's own embeddings pipeline (so the call is
    /// logged and costed under the purpose); `nil` when it fails, which makes the lookup a miss.
    func embed(_ text: String, model: String, ctx: CallContext) async -> [Float]? {
        let body = JSON.object(["model": .string(model), "input": .string(text)]).serialized()
        let reply = await handleEmbeddings(
            body: body, attribution: Attribution(purpose: ctx.purpose, runID: ctx.runID, user: ctx.user),
            identity: ctx.identity)
        guard case .json(200, let bytes, _) = reply,
            let values = (try? JSON.parse(bytes))?["data"]?.arrayValue?.first?["embedding"]?.arrayValue
        else { return nil }
        return SemanticIndex.normalized(values.map { Float($0.doubleValue ?? 0) })
    }

    /// Answers from a cache entry: zero spend, the original cost as savings, a synthesized stream when asked.
    func serveHit(
        _ entry: CacheEntry, similarity: Double?, request: ChatRequest, redaction: PIIRedaction?, record: inout CallRecord,
        ctx: CallContext
    ) async -> ChatReply {
        record.cache = similarity == nil ? "hit" : "semantic_hit"
        record.cacheSimilarity = similarity
        record.provider = entry.provider
        record.answeredModel = entry.answeredModel
        record.usage = Usage(inputTokens: entry.inputTokens, outputTokens: entry.outputTokens)
        record.costUSD = 0
        record.savedUSD = entry.costUSD ?? 0
        let totalMs = (ContinuousClock.now - ctx.start).milliseconds
        record.latencyMs = totalMs
        record.overheadMs = totalMs
        var meta = ResponseMeta(callID: ctx.callID)
        meta.cache = "hit"
        meta.cacheSimilarity = similarity
        meta.costUSD = 0
        meta.provider = entry.provider
        meta.answeredModel = entry.answeredModel
        meta.overheadMs = totalMs
        let answer: CachedAnswer
        if let known = entry.answer {
            answer = known
        } else {
            let derived = entry.withAnswer
            answer = derived.answer!
            cache?.remember(derived)
        }
        if answer.finishReasons.contains("tool_calls"), let cached = (try? JSON.parse(entry.body))?.objectValue {
            record.toolCalls = ToolCall.calls(in: cached)
        }
        await recorder.finish(record, output: answer.text, finishReasons: answer.finishReasons)
        if request.stream || redaction != nil {
            var completion = (try? JSON.parse(entry.body))?.objectValue ?? [:]
            // Entries keep personal-data placeholders; this caller gets its own values back.
            if let redaction { completion = redaction.restore(completion: completion) }
            if !request.stream { return .json(status: 200, body: JSON.object(completion).serialized(), meta: meta) }
            return .events(CachedStream.events(completion, includeUsage: request.clientWantsUsage), meta: meta)
        }
        return .json(status: 200, body: entry.body, meta: meta)
    }

    /// Stores a successful answer under the plan's key.
    func store(_ plan: CachePlan, body: [UInt8], record: CallRecord) {
        guard let cache else { return }
        let now = clock.now()
        let entry = CacheEntry(
            key: plan.key.exact, scope: plan.key.scope, purpose: record.purpose, promptVersion: record.promptVersion,
            model: record.model, provider: record.provider, answeredModel: record.answeredModel, body: body,
            inputTokens: record.usage.inputTokens, outputTokens: record.usage.outputTokens, costUSD: record.costUSD,
            createdAt: now, expiresAt: now.addingTimeInterval(plan.ttl), embedding: plan.vector)
        cache.put(entry, maxEntries: plan.semantic?.maxEntries ?? 10_000)
    }
}
