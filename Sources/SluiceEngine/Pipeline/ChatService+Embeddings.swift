import Foundation
import NIOCore
import SluiceCore
import SluiceProviders
import SluiceStore

extension ChatService {
    /// Handles a `/v1/embeddings` body: the same attribution, kill switches, input guards,
    /// personal data, route plan, retries, breakers, deadline, pricing and call record as a chat call.
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
        let policy = policies[ctx.purpose]
        if !policy.guards.input.isEmpty, let texts = Self.texts(prepared["input"]) {
            // The purpose's input guards read what would be embedded, as they read a chat call's messages.
            do {
                record.guardFlags += try Guards.check(policy.guards.input, texts.joined(separator: "\n"), side: "input", code: .guardBlocked)
            } catch {
                return await fail(&record, error, ctx: ctx)
            }
        }
        if policy.pii != .off, let texts = Self.texts(prepared["input"]) {
            // Embeddings follow the purpose's pii too: refused, or embedded with placeholders.
            var redaction = PIIRedaction()
            let redacted = texts.map { redaction.redact($0) }
            if !redaction.isEmpty {
                if policy.pii == .block {
                    record.requestBody = nil
                    let kinds = redaction.kinds.map(\.rawValue).joined(separator: ", ")
                    return await fail(
                        &record,
                        SluiceError(.piiDetected, "The input contains personal data or secrets (\(kinds)), which purpose '\(ctx.purpose)' refuses.", param: "input"),
                        ctx: ctx)
                }
                prepared["input"] = prepared["input"]?.stringValue != nil ? .string(redacted[0]) : .array(redacted.map(JSON.string))
                if record.requestBody != nil { record.requestBody = JSON.object(prepared).jsonString }
            }
        }
        if let limits = budget.flatMap({ $0.applies(ctx) ? $0 : nil }) {
            let chars = request.inputs.reduce(0) { $0 + $1.utf8.count }
            do {
                try await limits.admit(ctx)
                try await limits.reserveSpend(ctx, model: request.model, targets: targets, inputTokens: (chars + 2) / 3 + 8, outputTokens: 0)
            } catch {
                return await fail(&record, error, ctx: ctx)
            }
        }
        let upstreamBody = prepared
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

    /// The inputs when they are text (a string or an array of strings); token ids carry no readable data.
    static func texts(_ input: JSON?) -> [String]? {
        if let s = input?.stringValue { return [s] }
        guard let items = input?.arrayValue else { return nil }
        let texts = items.compactMap(\.stringValue)
        return texts.count == items.count ? texts : nil
    }
}
