import Foundation
import NIOCore
import SluiceCore
import SluiceJSONSchema
import SluiceProviders
import SluiceStore

extension ChatService {
    /// Finishes a complete upstream answer: validates it against the schema (sending
    /// it back for repair up to the purpose's `repair_attempts`), notes refusals,
    /// swaps personal-data placeholders back, checks the output guards, queues it
    /// for review when the purpose says so, stores it in the cache and answers.
    /// Under a cascade (`stage` of the purpose's `cascade`), an answer that fails its schema after
    /// repairs, is a refusal, trips an output guard or is cut at `length` escalates to the next
    /// model instead (``escalate(_:from:usage:target:stage:earlier:earlierCost:request:input:plan:record:ctx:eventLoop:)``);
    /// `carried` is what the earlier stages used and cost.
    func finishComplete(
        _ first: UpstreamResponse, target firstTarget: ResolvedTarget, firstStart: ContinuousClock.Instant,
        request: ChatRequest, input: InputCheck, plan: CachePlan?, targets: [ResolvedTarget],
        record: inout CallRecord, ctx: CallContext, eventLoop: (any EventLoop)?, stage: Int = 0,
        carried: (usage: Usage, cost: Double?) = (Usage(), 0)
    ) async -> ChatReply {
        let policy = policies[ctx.purpose]
        var response = first
        var target = firstTarget
        var start = firstStart
        var earlier = carried.usage
        var earlierCost: Double? = carried.cost
        let cascade = Self.cascadeStage(policy.cascade, stage: stage, model: request.model)
        func escalating(_ reason: String) async -> ChatReply? {
            guard let cascade, cascade.next != nil else { return nil }
            let usage = response.usage ?? Usage.estimate(messages: request.messages, output: response.text)
            return await escalate(
                reason, from: response, usage: usage, target: target, stage: stage, earlier: earlier, earlierCost: earlierCost,
                request: request, input: input, plan: plan, record: &record, ctx: ctx, eventLoop: eventLoop)
        }
        var errors: [ValidationError] = []
        var extracted: String?
        let refused = refusals.isRefusal(response.json)
        if let schemaJSON = input.schema, let schema = try? schemas.schema(for: schemaJSON) {
            var repairs = 0
            while true {
                (errors, extracted) = Self.check(response.text, against: schema)
                if errors.isEmpty || refused || repairs >= policy.repairAttempts { break }
                // The attempt so far counts: usage, cost and its row in `attempts`.
                let used = response.usage ?? Usage.estimate(messages: request.messages, output: response.text)
                earlier = earlier + used
                earlierCost = costWith(earlierCost, response, usage: used, target: target, record: record)
                repairs += 1
                let body = Self.repairBody(input.body, answer: response.text, errors: errors)
                let outcome = await completeWhole(body, targets: targets, record: &record, ctx: ctx, eventLoop: eventLoop)
                switch outcome {
                case .failure(let error):
                    record.repairs = repairs
                    record.usage = earlier
                    record.costUSD = earlierCost
                    return await fail(&record, error, ctx: ctx)
                case .success(let next, let t, let s, _):
                    (response, target, start) = (next, t, s)
                }
            }
            record.repairs = repairs
            record.schemaValid = errors.isEmpty
        }
        if !errors.isEmpty, let escalated = await escalating("schema_invalid") { return escalated }
        if refused, let escalated = await escalating("refusal") { return escalated }
        if ChatText.finishReasons(of: response.json).contains("length"), let escalated = await escalating("length") { return escalated }
        record.refusal = refused
        let usage = response.usage ?? Usage.estimate(messages: request.messages, output: response.text)
        if !errors.isEmpty {
            return await rejectInvalid(
                response, errors: errors, usage: usage, target: target, earlier: earlier, earlierCost: earlierCost,
                redaction: input.redaction, record: &record, ctx: ctx)
        }
        // The stored and cached answer keeps placeholders; the app gets its originals back.
        let reextracted = extracted.map { $0 != response.text } ?? false
        let stored = reextracted ? Self.replacingContent(response.json, with: extracted!) : response.json
        let storedBody = reextracted ? JSON.object(stored).serialized() : response.body
        let completion = input.redaction?.restore(completion: stored) ?? stored
        let text = ChatText.completionText(completion)
        do {
            let flags = try Guards.check(policy.guards.output, text, side: "output", code: .outputBlocked)
            if !flags.isEmpty, let escalated = await escalating("guard_flagged") { return escalated }
            record.guardFlags += flags
        } catch {
            if let escalated = await escalating("guard_blocked") { return escalated }
            // The answer was paid for even though it is not delivered.
            priceAnswer(&record, response, usage: usage, target: target, earlier: earlier, earlierCost: earlierCost)
            return await fail(&record, error, ctx: ctx)
        }
        if let classifiers, ClassifierGuards.any(policy.guards.output) {
            // Outside classifiers see the answer as stored (placeholders, not personal data).
            let outcome = await classifiers.check(
                policy.guards.output, text: ChatText.completionText(stored), side: "output", code: .outputBlocked, purpose: ctx.purpose,
                callID: ctx.callID)
            record.guardVerdicts += outcome.verdicts
            if let blocked = outcome.blocked {
                if let escalated = await escalating("guard_blocked") { return escalated }
                priceAnswer(&record, response, usage: usage, target: target, earlier: earlier, earlierCost: earlierCost)
                return await fail(&record, blocked, ctx: ctx)
            }
            if !outcome.flags.isEmpty, let escalated = await escalating("guard_flagged") { return escalated }
            record.guardFlags += outcome.flags
        }
        if let judge = policy.cascadeJudge, cascade?.next != nil, let classifiers {
            // The cascade's judge: a score under its minimum escalates (the verdict is kept either way).
            let outcome = await classifiers.check(
                [Self.cascadeJudgeRule(judge)], text: ChatText.completionText(stored), side: "cascade", code: .outputBlocked,
                purpose: ctx.purpose, callID: ctx.callID)
            record.guardVerdicts += outcome.verdicts
            if !outcome.flags.isEmpty, let escalated = await escalating("judge") { return escalated }
        }
        var reviewID: String?
        if policy.review == .always || (policy.review == .guardFlagged && !record.guardFlags.isEmpty) {
            reviewID = await queueReview(record: record, ctx: ctx, output: text, reason: policy.review == .always ? "always" : "guard_flagged:" + record.guardFlags.joined(separator: ","))
        }
        let reply = await answer(
            response, usage: usage, output: ChatText.completionText(stored), target: target, firstStart: start, record: &record,
            ctx: ctx, body: input.redaction == nil ? storedBody : JSON.object(completion).serialized(), earlier: earlier,
            earlierCost: earlierCost, reviewID: reviewID, cascade: cascade.map { ($0.stage, $0.last) })
        if let plan, response.status == 200, !refused { store(plan, body: storedBody, record: record) }
        return reply
    }

    /// `body` sent whole to `targets` under the purpose's retries, fallbacks, breakers and deadline,
    /// each attempt joining the record (repairs and cascade stages).
    func completeWhole(
        _ body: JSONObject, targets: [ResolvedTarget], record: inout CallRecord, ctx: CallContext, eventLoop: (any EventLoop)?
    ) async -> AttemptOutcome<UpstreamResponse> {
        let policy = policies[ctx.purpose]
        return await runner.run(
            targets: targets, policy: policy, deadline: policy.timeout.map { ctx.start + $0 }, purpose: ctx.purpose, stream: false,
            record: &record
        ) { t async throws(ProviderError) -> UpstreamResponse in
            var b = body
            b["model"] = .string(t.model)
            return try await t.provider.complete(UpstreamRequest(body: b, model: t.model, stream: false, eventLoop: eventLoop))
        }
    }

    /// `earlier` plus what `response` (an attempt that does not answer: a repaired or escalated
    /// one) cost at its target's price; `nil` once any attempt is unpriced.
    func costWith(_ earlier: Double?, _ response: UpstreamResponse, usage: Usage, target: ResolvedTarget, record: CallRecord) -> Double? {
        var priced = record
        priced.usage = usage
        priced.answeredModel = response.answeredModel ?? target.model
        recorder.price(&priced, target: target.model)
        return earlier.flatMap { e in priced.costUSD.map { e + $0 } }
    }

    /// The answer failed its schema after every repair: a 422 with the errors and the raw text.
    func rejectInvalid(
        _ response: UpstreamResponse, errors: [ValidationError], usage: Usage, target: ResolvedTarget, earlier: Usage,
        earlierCost: Double?, redaction: PIIRedaction?, record: inout CallRecord, ctx: CallContext
    ) async -> ChatReply {
        priceAnswer(&record, response, usage: usage, target: target, earlier: earlier, earlierCost: earlierCost)
        record.output = response.text
        let raw = redaction?.restore(response.text) ?? response.text
        var details: JSONObject = [
            "errors": .array(errors.map { ["path": .string($0.instancePath), "keyword": .string($0.keyword), "message": .string($0.message)] }),
            "raw": .string(raw), "repairs": .int(record.repairs),
        ]
        let policy = policies[ctx.purpose]
        if policy.review == .schemaInvalid || policy.review == .always {
            details["review_id"] = await queueReview(record: record, ctx: ctx, output: raw, reason: "schema_invalid").map(JSON.string) ?? .null
        }
        let shown = errors.prefix(5).map(\.message).joined(separator: "; ")
        let err = SluiceError(
            .schemaValidationFailed,
            "The answer does not match the output schema after \(record.repairs) repair attempt\(record.repairs == 1 ? "" : "s"): \(shown)",
            details: details)
        return await fail(&record, err, ctx: ctx)
    }

    /// Validation errors of the JSON found in `text` (an error when there is none), and the JSON's text.
    static func check(_ text: String, against schema: JSONSchema) -> ([ValidationError], String?) {
        guard let (value, source) = JSONExtractor.extract(text) else {
            return ([ValidationError(instancePath: "", keyword: "json", reason: "the answer contains no JSON value")], nil)
        }
        return (schema.validate(value), source)
    }

    /// The request again, with the model's answer and the validator's errors appended.
    static func repairBody(_ body: JSONObject, answer: String, errors: [ValidationError]) -> JSONObject {
        var b = body
        var messages = b["messages"]?.arrayValue ?? []
        messages.append(["role": "assistant", "content": .string(answer)])
        let list = errors.prefix(20).map { "- " + $0.message }.joined(separator: "\n")
        messages.append([
            "role": "user",
            "content": .string(
                "Your previous answer does not match the required JSON schema:\n\(list)\n"
                    + "Reply with only the corrected JSON, no prose and no code fences."),
        ])
        b["messages"] = .array(messages)
        return b
    }

    /// A completion whose first choice's content is `text`.
    static func replacingContent(_ completion: JSONObject, with text: String) -> JSONObject {
        var c = completion
        var choices = completion["choices"]?.arrayValue ?? []
        guard var first = choices.first?.objectValue, var message = first["message"]?.objectValue else { return completion }
        message["content"] = .string(text)
        first["message"] = .object(message)
        choices[0] = .object(first)
        c["choices"] = .array(choices)
        return c
    }

    /// Queues the output for a person; returns the review id (`nil` when the store refused it, which is logged).
    func queueReview(record: CallRecord, ctx: CallContext, output: String, reason: String) async -> String? {
        guard let reviews else { return nil }
        let now = clock.now()
        let item = ReviewItem(id: IDs.make("rev", at: now), callID: ctx.callID, purpose: ctx.purpose, reason: reason, output: output, createdAt: now)
        do {
            try await reviews.addReview(item)
            return item.id
        } catch {
            recorder.logger.error("could not queue an output for review", metadata: ["call_id": "\(ctx.callID)", "error": "\(error)"])
            return nil
        }
    }
}
