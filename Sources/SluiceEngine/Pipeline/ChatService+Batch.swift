import Foundation
import SluiceCore
import SluiceJSONSchema
import SluiceProviders
import SluiceStore

/// A batch task's call, checked like a sync call and ready for its upstream batch.
struct BatchCall: Sendable {
    /// The call's context; its call id becomes the record's when the batch ends.
    var ctx: CallContext
    /// The record so far, to fail with if the request cannot go into the batch.
    var record: CallRecord
    /// The body to send, in OpenAI shape, addressed to the target's upstream model, not streamed.
    var upstreamBody: JSONObject
}

/// Batch mode: the sync path's steps split in two, around a provider's batch API.
extension ChatService {
    /// Runs a batch task's chat body through the sync path up to the upstream call: decode and
    /// attribution, kill switches, routing (the model must go first to the batch's `target`), input
    /// guards and personal data, the output schema as `response_format`, rate limits and a worst-case
    /// reservation at batch prices (settled when the call is recorded). A refusal is recorded as a
    /// sync call's would be, and answered.
    func prepareBatch(body: [UInt8], attribution: Attribution, identity: Identity, prompt: PromptRef?, target: ResolvedTarget) async
        -> Step<BatchCall>
    {
        var (request, ctx): (ChatRequest, CallContext)
        switch await decode(ChatRequest.self, body: body, attribution: attribution, identity: identity, start: .now) {
        case .answer(let reply): return .answer(reply)
        case .next(let decoded): (request, ctx) = decoded
        }
        ctx.prompt = prompt
        var record = recorder.start(ctx, request: request, model: request.model, rawBody: body)
        record.promptName = prompt?.name
        record.promptVersion = prompt?.version
        switch await route(request.model, record: &record, ctx: ctx) {
        case .answer(let reply): return .answer(reply)
        case .next(let targets):
            guard targets.first?.breakerKey == target.breakerKey else {
                let err = SluiceError.invalidRequest(
                    "Purpose '\(ctx.purpose)' runs its tasks in batch mode on \(target.breakerKey); this task's model '\(request.model)' "
                        + "goes elsewhere. Name the purpose's model, or send the request as a sync call.", param: "model")
                return .answer(await fail(&record, err, ctx: ctx))
            }
        }
        if let k = runner.killed(target) {
            return .answer(await fail(&record, Self.disabled(k), ctx: ctx))
        }
        let input: InputCheck
        switch await checkInput(request, body: request.body, record: &record, ctx: ctx) {
        case .answer(let reply): return .answer(reply)
        case .next(let checked): input = checked
        }
        if let limits = budget.flatMap({ $0.applies(ctx) ? $0 : nil }) {
            do { try await limits.admit(ctx) } catch { return .answer(await fail(&record, error, ctx: ctx)) }
            let (inputTokens, outputTokens) = Self.worstCaseTokens(
                input.body, defaultOutput: limits.expectedOutputTokens(purpose: ctx.purpose, model: request.model))
            do {
                try await limits.reserveSpend(
                    ctx, model: request.model, targets: [target], inputTokens: inputTokens, outputTokens: outputTokens, batch: true)
            } catch {
                return .answer(await fail(&record, error, ctx: ctx))
            }
        }
        var upstream = input.body
        // SPEC: the body's metadata is never forwarded upstream.
        upstream.removeValue(forKey: "metadata")
        upstream.removeValue(forKey: "stream")
        upstream.removeValue(forKey: "stream_options")
        upstream["model"] = .string(target.model)
        return .next(BatchCall(ctx: ctx, record: record, upstreamBody: upstream))
    }

    /// Ends a batch call that never got an answer (the batch was refused or failed, or the request
    /// could not be sent): recorded as failed with `message`, which names the provider and batch.
    func failBatch(_ call: BatchCall, message: String, batchID: String?, target: ResolvedTarget, status: Int? = nil) async -> ChatReply {
        var record = call.record
        record.batchID = batchID
        record.provider = target.provider.name
        record.attempts = [Attempt(provider: target.provider.name, model: target.model, status: status, latencyMs: 0, error: message)]
        var details = JSONObject()
        details["upstream_status"] = status.map(JSON.int) ?? .null
        return await fail(&record, SluiceError(.upstreamError, message, details: details), ctx: call.ctx)
    }

    /// Finishes a batch call from its outcome as a sync call finishes: the answer is checked against
    /// the schema (no repair in batch), refusals noted, output guards run, review queued; it is priced at
    /// batch prices and recorded with `batch.id` under the call id fixed at submission.
    func finishBatch(
        _ outcome: BatchOutcome, item: TaskBatch.Item, batch: TaskBatch, identity: Identity, attribution: Attribution, now: Date
    ) async -> ChatReply {
        let elapsed = max(0, now.timeIntervalSince(batch.createdAt))
        let start = ContinuousClock.now - .milliseconds(Int64(elapsed * 1000))
        let requestJSON = (try? JSON.parse(item.body)) ?? .object([:])
        let request = try? ChatRequest(body: requestJSON)
        let ctx = CallContext(
            callID: item.callID, createdAt: batch.createdAt, start: start, identity: identity, purpose: batch.purpose,
            runID: attribution.runID, user: attribution.user ?? request?.user, cacheMode: "bypass")
        var record = recorder.start(ctx, request: request, model: request?.model ?? batch.model, rawBody: Array(item.body.utf8))
        record.promptName = item.promptName
        record.promptVersion = item.promptVersion
        record.batchID = batch.id
        let provider = catalog.provider(named: batch.provider)
        let latency = elapsed * 1000
        switch outcome {
        case .error(let e):
            record.provider = batch.provider
            record.attempts = [Attempt(provider: batch.provider, model: batch.model, status: e.status, latencyMs: latency, error: e.message)]
            var details = JSONObject()
            details["upstream_status"] = e.status.map(JSON.int) ?? .null
            let err = SluiceError(
                .upstreamError, "Upstream '\(batch.provider)' (model \(batch.model)) failed the request in batch \(batch.id): \(e.message)",
                details: details)
            return await fail(&record, err, ctx: ctx)
        case .answer(let response):
            record.attempts = [Attempt(provider: batch.provider, model: batch.model, status: response.status, latencyMs: latency, error: nil)]
            if item.body == BodyCipher.unreadable {
                return await fail(&record, SluiceError(.internalError, "batch \(batch.id): \(TaskWorkers.unreadableRequest)"), ctx: ctx)
            }
            guard let provider, let request else {
                return await fail(&record, SluiceError(.internalError, "batch \(batch.id) names provider '\(batch.provider)', which is not configured"), ctx: ctx)
            }
            let target = ResolvedTarget(provider: provider, model: batch.model, weight: 1, priority: 1)
            return await finishBatchAnswer(response, request: request, target: target, record: &record, ctx: ctx)
        }
    }

    /// The tail of ``finishComplete`` for one answer, without repairs, cache or placeholders.
    private func finishBatchAnswer(
        _ response: UpstreamResponse, request: ChatRequest, target: ResolvedTarget, record: inout CallRecord, ctx: CallContext
    ) async -> ChatReply {
        let policy = policies[ctx.purpose]
        let refused = refusals.isRefusal(response.json)
        record.refusal = refused
        let usage = response.usage ?? Usage.estimate(messages: request.messages, output: response.text)
        var extracted: String?
        if let schemaJSON = Self.batchSchema(request, policy: policy), let schema = try? schemas.schema(for: schemaJSON) {
            let errors: [ValidationError]
            (errors, extracted) = Self.check(response.text, against: schema)
            record.schemaValid = errors.isEmpty
            if !errors.isEmpty {
                return await rejectInvalid(
                    response, errors: errors, usage: usage, target: target, earlier: Usage(), earlierCost: 0, redaction: nil,
                    record: &record, ctx: ctx)
            }
        }
        let reextracted = extracted.map { $0 != response.text } ?? false
        let stored = reextracted ? Self.replacingContent(response.json, with: extracted!) : response.json
        let body = reextracted ? JSON.object(stored).serialized() : response.body
        let text = ChatText.completionText(stored)
        do {
            record.guardFlags += try Guards.check(policy.guards.output, text, side: "output", code: .outputBlocked)
        } catch {
            priceAnswer(&record, response, usage: usage, target: target, earlier: Usage(), earlierCost: 0)
            return await fail(&record, error, ctx: ctx)
        }
        var reviewID: String?
        if policy.review == .always || (policy.review == .guardFlagged && !record.guardFlags.isEmpty) {
            reviewID = await queueReview(
                record: record, ctx: ctx, output: text,
                reason: policy.review == .always ? "always" : "guard_flagged:" + record.guardFlags.joined(separator: ","))
        }
        return await answer(
            response, usage: usage, output: text, target: target, firstStart: ctx.start, record: &record, ctx: ctx, body: body,
            reviewID: reviewID)
    }

    /// The schema a batch answer must match: the purpose's, else the request's `json_schema` (as ``checkInput`` decides).
    static func batchSchema(_ request: ChatRequest, policy: CallPolicy) -> JSON? {
        if let schema = policy.outputSchema { return schema }
        let format = request.body["response_format"]
        return format?["type"]?.stringValue == "json_schema" ? format?["json_schema"]?["schema"] : nil
    }
}
