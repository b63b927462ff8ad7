import Foundation
import SluiceCore
import SluiceProviders
import SluiceStore

/// A client request the pipeline can attribute and route: chat or embeddings.
protocol RoutedRequest: Sendable {
    init(body: JSON) throws(SluiceError)
    /// The model name the client asked for.
    var model: String { get }
    /// The body's `user`, if any.
    var user: String? { get }
    /// `x-sluice-*` keys found in `metadata`.
    var sluiceMetadata: [String: String] { get }
}

extension ChatRequest: RoutedRequest {}
extension EmbeddingRequest: RoutedRequest {}

/// A step's verdict: go on with a value, or answer now (already recorded).
enum Step<Value> {
    case next(Value)
    case answer(ChatReply)
}

/// The steps every kind of call shares.
extension ChatService {
    /// Decodes the body and attributes the call; a request that does not parse is recorded and answered.
    func decode<R: RoutedRequest>(
        _: R.Type, body: [UInt8], attribution: Attribution, identity: Identity, start: ContinuousClock.Instant
    ) async -> Step<(R, CallContext)> {
        do {
            let json: JSON
            do { json = try JSON.parse(body) } catch {
                throw SluiceError.invalidRequest("The request body is not valid JSON: \(error).")
            }
            let request = try R(body: json)
            let meta = Attribution { request.sluiceMetadata[$0] }
            let ctx = try CallContext.make(
                attribution: attribution.merged(with: meta), identity: identity, user: request.user, clock: clock,
                start: start)
            try policies.check(purpose: ctx.purpose)
            return .next((request, ctx))
        } catch {
            return .answer(await failUnparsed(body: body, error: error, attribution: attribution, identity: identity, start: start))
        }
    }

    /// The key's model scope, kill switches on the purpose and model, then the model's targets.
    func route(_ model: String, record: inout CallRecord, ctx: CallContext) async -> Step<[ResolvedTarget]> {
        if !ctx.identity.allows(model: model) {
            let e = SluiceError(
                .forbidden,
                "Key '\(ctx.identity.keyName ?? "")' may not use model '\(model)'; it may use: \(ctx.identity.models.joined(separator: ", ")).",
                param: "model")
            return .answer(await fail(&record, e, ctx: ctx))
        }
        if !kills.isEmpty, let k = kills.kill(.purpose, ctx.purpose) ?? kills.kill(.model, model) {
            return .answer(await fail(&record, Self.disabled(k), ctx: ctx))
        }
        if live.isDisabled(ctx.purpose) {
            let e = SluiceError(
                .disabled, "Purpose '\(ctx.purpose)' is disabled by the flag '\(ctx.purpose).disabled'; remove it with sluice flags set \(ctx.purpose).disabled=null.")
            return .answer(await fail(&record, e, ctx: ctx))
        }
        do {
            return .next(try catalog.targets(for: model))
        } catch {
            return .answer(await fail(&record, error, ctx: ctx))
        }
    }

    /// Prices and records a complete upstream answer and returns its bytes.
    /// `body` replaces the upstream's bytes (a repaired, restored or re-extracted answer);
    /// `earlier` and `earlierCost` add the attempts that came before (repairs).
    func answer(
        _ response: UpstreamResponse, usage: Usage, output: String, target: ResolvedTarget,
        firstStart: ContinuousClock.Instant, record: inout CallRecord, ctx: CallContext,
        body: [UInt8]? = nil, earlier: Usage = Usage(), earlierCost: Double? = 0, reviewID: String? = nil,
        cascade: (stage: Int, last: String)? = nil
    ) async -> ChatReply {
        let upstreamMs = (ContinuousClock.now - firstStart).milliseconds
        priceAnswer(&record, response, usage: usage, target: target, earlier: earlier, earlierCost: earlierCost)
        if let cascade { noteCascade(&record, stage: cascade.stage, last: cascade.last, answer: usage) }
        let totalMs = (ContinuousClock.now - ctx.start).milliseconds
        record.latencyMs = totalMs
        record.overheadMs = max(0, totalMs - upstreamMs)
        var meta = ResponseMeta(callID: ctx.callID)
        meta.cache = record.cache
        let guardCost = record.guardVerdicts.reduce(0) { $0 + ($1.costUSD ?? 0) }
        meta.costUSD = guardCost > 0 ? (record.costUSD ?? 0) + guardCost : record.costUSD
        meta.provider = record.provider
        meta.answeredModel = record.answeredModel
        meta.attempts = record.attempts.count
        meta.overheadMs = record.overheadMs
        meta.reviewID = reviewID
        meta.cascade = cascade.map { $0.stage == 0 ? "first" : "escalated" }
        record.toolCalls = ToolCall.calls(in: response.json)
        await recorder.finish(record, output: output, finishReasons: ChatText.finishReasons(of: response.json))
        return .json(status: 200, body: body ?? response.body, meta: meta)
    }

    /// Who answered and what the call cost: the final attempt priced on its own
    /// (answered model and target), plus what the earlier attempts (repairs) cost.
    func priceAnswer(
        _ record: inout CallRecord, _ response: UpstreamResponse, usage: Usage, target: ResolvedTarget, earlier: Usage,
        earlierCost: Double?
    ) {
        record.provider = target.provider.name
        record.answeredModel = response.answeredModel ?? target.model
        record.usage = usage
        recorder.price(&record, target: target.model)
        record.usage = usage + earlier
        record.costUSD = record.costUSD.flatMap { c in earlierCost.map { c + $0 } }
    }
}
