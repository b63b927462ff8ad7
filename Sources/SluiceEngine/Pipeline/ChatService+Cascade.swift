import Foundation
import NIOCore
import SluiceCore
import SluiceProviders
import SluiceStore

/// Validated cascades (`cascade: [small, large]` on a purpose): the first model answers,
/// and a bad answer (invalid after repairs, a refusal, an output guard tripped, cut at
/// `length`) escalates to the next. One call record keeps every stage's attempts and cost;
/// the answer says which stage answered (`X-Sluice-Cascade: first|escalated`), and an
/// answer from an earlier stage records what it saved against the last model.
extension ChatService {
    /// Where a call stands in its purpose's cascade: its stage, the next model (`nil` at the
    /// last) and the last model. `nil` when the call is not in a cascade (no cascade, or it asked
    /// for another model than the cascade's first).
    struct CascadeStage: Sendable {
        var stage: Int
        var next: String?
        var last: String
    }

    static func cascadeStage(_ cascade: [String], stage: Int, model: String) -> CascadeStage? {
        guard let first = cascade.first, let last = cascade.last, stage < cascade.count, stage > 0 || model == first else { return nil }
        return CascadeStage(stage: stage, next: stage + 1 < cascade.count ? cascade[stage + 1] : nil, last: last)
    }

    /// The cascade's judge as a flagging guard rule (its score under `min` flags; a flag escalates).
    static func cascadeJudgeRule(_ judge: GuardClassifier.Judge) -> GuardRule {
        var rule = GuardRule(name: "cascade_judge", action: .flag)
        rule.classifier = .judge(judge)
        return rule
    }

    /// The targets of the cascade's later stages when `model` starts the purpose's cascade (each
    /// may answer too, so the call reserves for all of them); empty otherwise.
    func cascadeTargets(_ model: String, ctx: CallContext) -> [[ResolvedTarget]] {
        let cascade = policies[ctx.purpose].cascade
        guard cascade.first == model else { return [] }
        return cascade.dropFirst().compactMap { try? catalog.targets(for: $0) }
    }

    /// Sends the request to the next model of the cascade: this stage's usage and cost are carried
    /// into the record, the next stage's attempts join its list, and its answer is finished like any.
    func escalate(
        _ reason: String, from response: UpstreamResponse, usage: Usage, target: ResolvedTarget, stage: Int, earlier: Usage,
        earlierCost: Double?, request: ChatRequest, input: InputCheck, plan: CachePlan?, record: inout CallRecord, ctx: CallContext,
        eventLoop: (any EventLoop)?
    ) async -> ChatReply {
        let policy = policies[ctx.purpose]
        let carriedUsage = earlier + usage
        let carriedCost = costWith(earlierCost, response, usage: usage, target: target, record: record)
        let next = policy.cascade[stage + 1]
        recorder.logger.info(
            "cascade escalated", metadata: ["call_id": "\(ctx.callID)", "from": "\(policy.cascade[stage])", "to": "\(next)", "reason": "\(reason)"])
        // Whatever happens next, what this stage used and cost stays on the record.
        record.usage = carriedUsage
        record.costUSD = carriedCost
        let targets: [ResolvedTarget]
        switch await route(next, record: &record, ctx: ctx) {
        case .answer(let reply): return reply
        case .next(let t): targets = t
        }
        var body = input.body
        body.removeValue(forKey: "metadata")
        let outcome = await completeWhole(body, targets: targets, record: &record, ctx: ctx, eventLoop: eventLoop)
        switch outcome {
        case .failure(let error):
            record.usage = carriedUsage
            record.costUSD = carriedCost
            return await fail(&record, error, ctx: ctx)
        case .success(let answer, let t, let s, _):
            return await finishComplete(
                answer, target: t, firstStart: s, request: request, input: input, plan: plan, targets: targets, record: &record,
                ctx: ctx, eventLoop: eventLoop, stage: stage + 1, carried: (carriedUsage, carriedCost))
        }
    }

    /// An answer from an earlier stage than the last saves what the last model would have cost for
    /// the same tokens, less what the call cost; it is added to the record's `saved_usd` (and so
    /// to the ledger and the cost summary).
    func noteCascade(_ record: inout CallRecord, stage: Int, last: String, answer: Usage) {
        guard let lastModel = try? catalog.targets(for: last).first?.model, record.answeredModel != lastModel else { return }
        var asLast = record
        asLast.usage = answer
        asLast.answeredModel = nil
        recorder.price(&asLast, target: lastModel)
        guard let would = asLast.costUSD, let did = record.costUSD, would > did else { return }
        record.savedUSD += would - did
    }

    /// A streamed request under a cascade: run whole (answers are judged whole), then replay the
    /// answer as server-sent events (errors stay errors: nothing was streamed yet).
    func cascadeStream(
        body raw: [UInt8], includeUsage: Bool, attribution: Attribution, identity: Identity, start: ContinuousClock.Instant,
        eventLoop: (any EventLoop)?, prompt: PromptRef?
    ) async -> ChatReply {
        guard var whole = (try? JSON.parse(raw))?.objectValue else { return .failure(.invalidRequest("The body must be a JSON object."), meta: ResponseMeta()) }
        whole.removeValue(forKey: "stream")
        whole.removeValue(forKey: "stream_options")
        let reply = await process(
            body: JSON.object(whole).serialized(), attribution: attribution, identity: identity, start: start, eventLoop: eventLoop,
            prompt: prompt)
        guard case .json(200, let bytes, let meta) = reply, let completion = (try? JSON.parse(bytes))?.objectValue else { return reply }
        return .events(CachedStream.events(completion, includeUsage: includeUsage), meta: meta)
    }
}
