import Foundation
import NIOCore
import SluiceCore
import SluiceProviders
import SluiceStore

extension ChatService {
    /// Handles a `/v1/embeddings` body: the same attribution, kill switches,
    /// route plan, retries, breakers, deadline, pricing and call record as a chat call.
    public func handleEmbeddings(
        body: [UInt8], attribution headerAttribution: Attribution, identity: Identity,
        start: ContinuousClock.Instant = .now, eventLoop: (any EventLoop)? = nil
    ) async -> ChatReply {
        let request: EmbeddingRequest
        let ctx: CallContext
        do {
            let json: JSON
            do { json = try JSON.parse(body) } catch {
                throw SluiceError.invalidRequest("The request body is not valid JSON: \(error).")
            }
            request = try EmbeddingRequest(body: json)
            let meta = Attribution { request.sluiceMetadata[$0] }
            ctx = try CallContext.make(
                attribution: headerAttribution.merged(with: meta), identity: identity, user: request.user,
                clock: clock, start: start)
        } catch {
            return await failUnparsed(body: body, error: error, attribution: headerAttribution, identity: identity, start: start)
        }
        var record = recorder.start(ctx, embedding: request, rawBody: body)
        if !kills.isEmpty, let k = kills.kill(.purpose, ctx.purpose) ?? kills.kill(.model, request.model) {
            return await fail(&record, Self.disabled(k), ctx: ctx)
        }
        let targets: [ResolvedTarget]
        do {
            targets = try catalog.targets(for: request.model)
        } catch {
            return await fail(&record, error, ctx: ctx)
        }
        var prepared = request.body
        prepared.removeValue(forKey: "metadata")
        let upstreamBody = prepared
        let policy = policies[ctx.purpose]
        let outcome = await runner.run(
            targets: targets, policy: policy, deadline: policy.timeout.map { start + $0 }, purpose: ctx.purpose,
            stream: false, record: &record
        ) { target async throws(ProviderError) -> UpstreamResponse in
            var body = upstreamBody
            body["model"] = .string(target.model)
            return try await target.provider.embed(
                UpstreamRequest(body: body, model: target.model, stream: false, eventLoop: eventLoop))
        }
        switch outcome {
        case .failure(let error):
            return await fail(&record, error, ctx: ctx)
        case .success(let response, let target, let firstStart, _):
            let upstreamMs = (ContinuousClock.now - firstStart).milliseconds
            record.provider = target.provider.name
            record.answeredModel = response.answeredModel ?? target.model
            let estimated = request.inputs.reduce(0) { $0 + max(1, ($1.utf8.count + 3) / 4) }
            record.usage = response.usage ?? Usage(inputTokens: estimated)
            record.costUSD = recorder.cost(record.usage, target: target.model, answered: response.answeredModel)
            let totalMs = (ContinuousClock.now - start).milliseconds
            record.latencyMs = totalMs
            record.overheadMs = max(0, totalMs - upstreamMs)
            var meta = ResponseMeta(callID: ctx.callID)
            meta.costUSD = record.costUSD
            meta.provider = record.provider
            meta.answeredModel = record.answeredModel
            meta.attempts = record.attempts.count
            meta.overheadMs = record.overheadMs
            let count = response.json["data"]?.arrayValue?.count ?? 0
            await recorder.finish(record, output: "[\(count) embedding\(count == 1 ? "" : "s")]")
            return .json(status: 200, body: response.body, meta: meta)
        }
    }
}
