import Foundation
import SluiceCore

/// What the input checks leave for the rest of the call.
struct InputCheck: Sendable {
    /// The body to send upstream (messages redacted when `pii: redact`).
    var body: JSONObject
    /// The placeholders to swap back in the answer; `nil` when nothing was redacted.
    var redaction: PIIRedaction?
    /// The schema answers must match, if any.
    var schema: JSON?
}

extension ChatService {
    /// Input guards, then personal data (`pii: block` refuses, `redact` swaps in
    /// placeholders), then the output schema (the purpose's is requested natively
    /// as `response_format` when the request names none).
    func checkInput(_ request: ChatRequest, body: JSONObject, record: inout CallRecord, ctx: CallContext) async -> Step<InputCheck> {
        let policy = policies[ctx.purpose]
        var out = InputCheck(body: body)
        let messages = request.body["messages"]?.arrayValue ?? []
        if !policy.guards.input.isEmpty {
            let text = messages.map { ChatText.content($0["content"]) }.joined(separator: "\n")
            do {
                record.guardFlags += try Guards.check(policy.guards.input, text, side: "input", code: .guardBlocked)
            } catch {
                return .answer(await fail(&record, error, ctx: ctx))
            }
        }
        switch policy.pii {
        case .off: break
        case .block:
            let detector = PIIDetector()
            var kinds: [String] = []
            for m in messages {
                for match in detector.matches(in: ChatText.content(m["content"])) where !kinds.contains(match.kind.rawValue) {
                    kinds.append(match.kind.rawValue)
                }
            }
            if !kinds.isEmpty {
                // The refused request is not stored: it holds what the purpose refuses to keep.
                record.requestBody = nil
                let err = SluiceError(
                    .piiDetected,
                    "The request contains personal data or secrets (\(kinds.joined(separator: ", "))), which purpose '\(ctx.purpose)' refuses. "
                        + "Remove them, or set the purpose's pii to redact.", param: "messages")
                return .answer(await fail(&record, err, ctx: ctx))
            }
        case .redact:
            var redaction = PIIRedaction()
            let redacted = redaction.redact(messages: messages)
            if !redaction.isEmpty {
                out.body["messages"] = .array(redacted)
                out.redaction = redaction
                if record.requestBody != nil {
                    var stored = request.body
                    stored["messages"] = .array(redacted)
                    record.requestBody = JSON.object(stored).jsonString
                }
            }
        }
        let format = request.body["response_format"]
        // Outside classifiers see the request as the provider will (placeholders, not personal data).
        if let classifiers, ClassifierGuards.any(policy.guards.input) {
            let sent = (out.body["messages"]?.arrayValue ?? messages).map { ChatText.content($0["content"]) }.joined(separator: "\n")
            let outcome = await classifiers.check(
                policy.guards.input, text: sent, side: "input", code: .guardBlocked, purpose: ctx.purpose, callID: ctx.callID)
            record.guardVerdicts += outcome.verdicts
            if let blocked = outcome.blocked { return .answer(await fail(&record, blocked, ctx: ctx)) }
            record.guardFlags += outcome.flags
        }
        if let schema = policy.outputSchema {
            out.schema = schema
            if format == nil || format?.isNull == true {
                out.body["response_format"] = [
                    "type": "json_schema", "json_schema": ["name": .string(PurposeRunner.schemaName(ctx.purpose)), "schema": schema],
                ]
            }
        } else if let schema = Self.requestedSchema(request.body) {
            do { try compile(schema) } catch { return .answer(await fail(&record, error, ctx: ctx)) }
            out.schema = schema
        }
        return .next(out)
    }
}
