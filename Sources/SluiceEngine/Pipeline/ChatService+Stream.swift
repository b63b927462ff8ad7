import Foundation
import SluiceCore
import SluiceProviders

extension ChatService {
    /// Wraps a stream whose first chunk arrived into the relay the surface writes from,
    /// with the purpose's output policies: guards (held whole under `stream_guard: buffer`,
    /// checked as chunks pass under `incremental`), review, schema and refusal notes, the cache.
    func openStream(
        _ stream: any ChunkStream, first: StreamChunk?, target: ResolvedTarget, firstStart: ContinuousClock.Instant,
        ticket: BreakerBoard.Ticket?, request: ChatRequest, ctx: CallContext, record: CallRecord, cache plan: CachePlan? = nil,
        input: InputCheck? = nil
    ) async -> ChatReply {
        var record = record
        record.provider = target.provider.name
        record.ttftMs = (ContinuousClock.now - ctx.start).milliseconds
        let upstreamMs = (ContinuousClock.now - firstStart).milliseconds
        var meta = ResponseMeta(callID: ctx.callID)
        meta.provider = target.provider.name
        meta.answeredModel = target.model
        meta.attempts = record.attempts.count
        meta.cache = record.cache
        meta.overheadMs = max(0, (ContinuousClock.now - ctx.start).milliseconds - upstreamMs)
        let relay = StreamRelay(
            stream: stream, first: first.map { .chunk($0) } ?? .end, record: record, recorder: recorder,
            start: ctx.start, upstreamStart: firstStart, clientWantsUsage: request.clientWantsUsage,
            targetModel: target.model, messages: request.messages)
        if let ticket {
            // The target's breaker hears how the stream ended: complete, broken by the upstream, or neither (client gone).
            let breakers = runner.breakers
            relay.onEnd = { outcome in
                if let success = outcome { breakers.record(ticket, success: success) } else { breakers.release(ticket) }
            }
        }
        if let redaction = input?.redaction { relay.restorer = PlaceholderRestorer(redaction) }
        // A stream cannot be repaired once sent: its schema is checked at the end and recorded.
        if let schemaJSON = input?.schema, let schema = try? schemas.schema(for: schemaJSON) {
            relay.validate = { text in Self.check(text, against: schema).0.isEmpty }
        }
        let refusals = self.refusals
        relay.isRefusal = { text in refusals.isRefusal(text: text) }
        if let plan, (request.body["n"]?.intValue ?? 1) == 1 {
            let service = self
            relay.onCompletion = { body, record in service.store(plan, body: body, record: record) }
        }
        let policy = policies[ctx.purpose]
        relay.outputRules = policy.guards.output
        if let classifiers, ClassifierGuards.any(policy.guards.output) {
            let (rules, purpose, callID, redaction) = (policy.guards.output, ctx.purpose, ctx.callID, input?.redaction)
            relay.classify = { text in
                var r = redaction
                let sent = r?.redact(text) ?? text
                return await classifiers.check(rules, text: sent, side: "output", code: .outputBlocked, purpose: purpose, callID: callID)
            }
        }
        let mode = StreamGuardMode.effective(configured: policy.streamGuard, guards: policy.guards)
        if mode == .incremental { relay.incremental = StreamGuard(rules: policy.guards.output) }
        if policy.review == .always || policy.review == .guardFlagged {
            let service = self
            let always = policy.review == .always
            relay.review = { record, output in
                guard always || !record.guardFlags.isEmpty else { return nil }
                let reason = always ? "always" : "guard_flagged:" + record.guardFlags.joined(separator: ",")
                return await service.queueReview(record: record, ctx: ctx, output: output, reason: reason)
            }
        }
        if mode == .buffer {
            // Nothing reaches the client before the whole answer passed its guards.
            if let error = await relay.hold() { return .failure(error, meta: meta) }
            meta.reviewID = relay.reviewID
        }
        return .stream(relay, meta: meta)
    }
}
