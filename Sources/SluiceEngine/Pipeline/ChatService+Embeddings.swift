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
        let (request, ctx): (EmbeddingRequest, CallContext)
        switch await decode(EmbeddingRequest.self, body: body, attribution: headerAttribution, identity: identity, start: start) {
        case .answer(let reply): return reply
        case .next(let decoded): (request, ctx) = decoded
        }
        var record = recorder.start(ctx, embedding: request, rawBody: body)
        let targets: [ResolvedTarget]
        switch await route(request.model, record: &record, ctx: ctx) {
        case .answer(let reply): return reply
        case .next(let t): targets = t
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
            let estimated = request.inputs.reduce(0) { $0 + max(1, ($1.utf8.count + 3) / 4) }
            let count = response.json["data"]?.arrayValue?.count ?? 0
            return await answer(
                response, usage: response.usage ?? Usage(inputTokens: estimated),
                output: "[\(count) embedding\(count == 1 ? "" : "s")]", target: target, firstStart: firstStart,
                record: &record, ctx: ctx)
        }
    }
}
