import Foundation
import SluiceCore

/// A purpose's `fallback_response`, served when every target failed.
extension ChatService {
    /// Answers 200 with the fallback (as a chat completion, or as a stream for a
    /// stream request), marked degraded; the record keeps every attempt and why
    /// the call degraded.
    func degrade(
        _ record: inout CallRecord, fallback: JSON, because error: SluiceError, request: ChatRequest, ctx: CallContext
    ) async -> ChatReply {
        let text = fallback.stringValue ?? fallback.objectValue.map(ChatText.completionText) ?? ""
        record.status = .degraded
        record.error = error.message
        record.httpStatus = 200
        record.answeredModel = nil
        record.latencyMs = (ContinuousClock.now - ctx.start).milliseconds
        record.costUSD = 0
        var meta = ResponseMeta(callID: ctx.callID)
        meta.attempts = record.attempts.count
        meta.degraded = true
        meta.costUSD = 0
        await recorder.finish(record, output: text)
        let created = JSON.int(Int(ctx.createdAt.timeIntervalSince1970))
        let id = JSON.string("chatcmpl-\(ctx.callID)")
        if request.stream {
            var out: [UInt8] = []
            func event(_ choices: [JSON], usage: JSON? = nil) {
                var chunk: JSONObject = [
                    "id": id, "object": "chat.completion.chunk", "created": created, "model": .string(request.model),
                    "choices": .array(choices),
                ]
                if let usage { chunk["usage"] = usage }
                out.append(contentsOf: Array("data: ".utf8))
                JSON.object(chunk).write(to: &out)
                out.append(contentsOf: [0x0A, 0x0A])
            }
            event([["index": 0, "delta": ["role": "assistant", "content": .string(text)], "finish_reason": nil]])
            event([["index": 0, "delta": [:], "finish_reason": "stop"]])
            if request.clientWantsUsage { event([], usage: Self.zeroUsage) }
            out.append(contentsOf: Array("data: [DONE]\n\n".utf8))
            return .events(out, meta: meta)
        }
        if let object = fallback.objectValue { return .json(status: 200, body: JSON.object(object).serialized(), meta: meta) }
        let body: JSON = [
            "id": id, "object": "chat.completion", "created": created, "model": .string(request.model),
            "choices": [["index": 0, "message": ["role": "assistant", "content": .string(text)], "finish_reason": "stop"]],
            "usage": Self.zeroUsage,
        ]
        return .json(status: 200, body: body.serialized(), meta: meta)
    }

    static let zeroUsage: JSON = ["prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0]
}
