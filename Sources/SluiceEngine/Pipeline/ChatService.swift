import Foundation
import NIOCore
import SluiceCore
import SluiceProviders

/// The answer to one chat call, ready for the HTTP edge.
public enum ChatReply: Sendable {
    /// A complete JSON body with its status.
    case json(status: Int, body: [UInt8], meta: ResponseMeta)
    /// An error, already recorded.
    case failure(SluiceError, meta: ResponseMeta)
    /// An open stream; the edge writes its frames.
    case stream(StreamRelay, meta: ResponseMeta)
}

/// The chat pipeline: decode → attribute → admit → route → call the provider →
/// price → record. Every call that passes authentication ends as a call record,
/// failed ones included.
public struct ChatService: Sendable {
    let catalog: ModelCatalog
    let recorder: CallRecorder
    let clock: any WallClock

    /// Handles a `/v1/chat/completions` body from an authenticated caller.
    /// `start` is when the request reached Sluice, so that latency and overhead
    /// include reading the body.
    public func handle(
        body: [UInt8], attribution headerAttribution: Attribution, identity: Identity,
        start: ContinuousClock.Instant = .now, eventLoop: (any EventLoop)? = nil
    ) async -> ChatReply {
        // Decode.
        let request: ChatRequest
        let ctx: CallContext
        do {
            let json: JSON
            do { json = try JSON.parse(body) } catch {
                throw SluiceError.invalidRequest("The request body is not valid JSON: \(error).")
            }
            request = try ChatRequest(body: json)
            let meta = Attribution { request.sluiceMetadata[$0] }
            ctx = try CallContext.make(
                attribution: headerAttribution.merged(with: meta), identity: identity, user: request.user,
                clock: clock, start: start)
        } catch {
            // Record what can be recorded of a request that did not parse.
            let err = error as? SluiceError ?? SluiceError(.internalError, "\(error)")
            let fallbackCtx = CallContext(
                callID: IDs.callID(at: clock.now()), createdAt: clock.now(), start: start, identity: identity,
                purpose: headerAttribution.purpose.flatMap { CallContext.validName($0) ? $0 : nil } ?? "default",
                runID: headerAttribution.runID, user: headerAttribution.user, cacheMode: "default")
            let model = (try? JSON.parse(body))?["model"]?.stringValue ?? ""
            var record = recorder.start(fallbackCtx, request: nil, model: model)
            return await fail(&record, err, ctx: fallbackCtx)
        }
        var record = recorder.start(ctx, request: request, model: request.model, rawBody: body)
        let target: ResolvedTarget
        do {
            target = try pickTarget(catalog.targets(for: request.model))
        } catch {
            return await fail(&record, error, ctx: ctx)
        }
        var upstreamBody = request.body
        upstreamBody["model"] = .string(target.model)
        // SPEC: the body's metadata is never forwarded upstream.
        upstreamBody.removeValue(forKey: "metadata")
        if request.stream {
            var options = upstreamBody["stream_options"]?.objectValue ?? JSONObject()
            options["include_usage"] = true
            upstreamBody["stream_options"] = .object(options)
            return await openStream(
                UpstreamRequest(body: upstreamBody, model: target.model, stream: true, eventLoop: eventLoop), target: target,
                request: request, ctx: ctx, record: record)
        }
        let upstreamStart = ContinuousClock.now
        do {
            let response = try await target.provider.complete(
                UpstreamRequest(body: upstreamBody, model: target.model, stream: false, eventLoop: eventLoop))
            let upstreamMs = (ContinuousClock.now - upstreamStart).milliseconds
            record.attempts = [Attempt(provider: target.provider.name, model: target.model, status: response.status, latencyMs: upstreamMs, error: nil)]
            record.provider = target.provider.name
            record.answeredModel = response.answeredModel ?? target.model
            record.usage = response.usage ?? Usage.estimate(messages: request.messages, output: response.text)
            record.costUSD = recorder.cost(record.usage, target: target.model, answered: response.answeredModel)
            let totalMs = (ContinuousClock.now - start).milliseconds
            record.latencyMs = totalMs
            record.overheadMs = max(0, totalMs - upstreamMs)
            record.cache = "bypass"
            var meta = ResponseMeta(callID: ctx.callID)
            meta.costUSD = record.costUSD
            meta.provider = record.provider
            meta.answeredModel = record.answeredModel
            meta.attempts = 1
            meta.overheadMs = record.overheadMs
            await recorder.finish(record, output: response.text)
            return .json(status: 200, body: response.body, meta: meta)
        } catch {
            return await failUpstream(&record, error, target: target, since: upstreamStart, ctx: ctx)
        }
    }

    /// Records the one failed attempt and answers 502 with it.
    func failUpstream(
        _ record: inout CallRecord, _ error: ProviderError, target: ResolvedTarget, since upstreamStart: ContinuousClock.Instant,
        ctx: CallContext
    ) async -> ChatReply {
        let ms = (ContinuousClock.now - upstreamStart).milliseconds
        record.provider = target.provider.name
        record.attempts = [Attempt(provider: target.provider.name, model: target.model, status: error.status, latencyMs: ms, error: error.message)]
        return await fail(&record, Self.upstreamFailure(error, target: target, attempts: record.attempts), ctx: ctx)
    }

    /// Weighted random choice among the targets of the best priority.
    func pickTarget(_ targets: [ResolvedTarget]) -> ResolvedTarget {
        guard let best = targets.first?.priority else { return targets[0] }
        let group = targets.filter { $0.priority == best }
        if group.count == 1 { return group[0] }
        let total = group.reduce(0) { $0 + $1.weight }
        var r = Double.random(in: 0..<total)
        for t in group {
            if r < t.weight { return t }
            r -= t.weight
        }
        return group[group.count - 1]
    }

    static func upstreamFailure(_ e: ProviderError, target: ResolvedTarget, attempts: [Attempt]) -> SluiceError {
        let what = e.status.map { "HTTP \($0)" } ?? e.kind.rawValue
        var details = JSONObject()
        details["upstream_status"] = e.status.map(JSON.int) ?? .null
        details["attempts"] = .array(attempts.map(\.json))
        return SluiceError(
            .upstreamError,
            "Upstream '\(target.provider.name)' (model \(target.model)) failed with \(what): \(e.message)",
            details: details)
    }

    func fail(_ record: inout CallRecord, _ error: SluiceError, ctx: CallContext) async -> ChatReply {
        record.status = .error
        record.error = error.message
        record.httpStatus = error.code.status
        record.latencyMs = (ContinuousClock.now - ctx.start).milliseconds
        var meta = ResponseMeta(callID: ctx.callID)
        meta.provider = record.provider
        meta.attempts = record.attempts.count
        await recorder.finish(record, output: nil)
        return .failure(error, meta: meta)
    }
}
