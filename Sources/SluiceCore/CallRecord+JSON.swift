import Foundation

extension CallRecord {
    /// The record as SPEC's call JSON (`GET /admin/calls/{id}`).
    public var json: JSON {
        func s(_ v: String?) -> JSON { v.map(JSON.string) ?? .null }
        func d(_ v: Double?) -> JSON { v.map { .double(($0 * 1_000_000_000).rounded() / 1_000_000_000) } ?? .null }
        func b(_ v: Bool?) -> JSON { v.map(JSON.bool) ?? .null }
        let body: JSON? = requestBody.flatMap { try? JSON.parse($0) }
        return .object([
            "call_id": .string(callID), "created_at": .string(Self.iso8601(createdAt)), "run_id": s(runID),
            "purpose": .string(purpose), "user": s(user), "key": s(keyName), "prompt_name": s(promptName),
            "prompt_version": s(promptVersion), "variant": s(variant), "model": .string(model), "provider": s(provider),
            "answered_model": s(answeredModel), "status": .string(status.rawValue), "http_status": .int(httpStatus),
            "error": s(error), "attempts": .array(attempts.map(\.json)), "cache": .string(cache),
            "cache_similarity": d(cacheSimilarity), "stream": .bool(stream),
            "input_tokens": .int(usage.inputTokens), "output_tokens": .int(usage.outputTokens),
            "cached_tokens": .int(usage.cachedTokens), "cache_write_tokens": .int(usage.cacheWriteTokens),
            "cost_usd": d(costUSD), "saved_usd": d(savedUSD), "latency_ms": d(latencyMs), "ttft_ms": d(ttftMs),
            "overhead_ms": d(overheadMs), "schema_valid": b(schemaValid), "refusal": b(refusal),
            "repairs": .int(repairs), "guard_flags": .array(guardFlags.map(JSON.string)),
            "guard_verdicts": .array(guardVerdicts.map(\.json)),
            "params": .object(params), "input_hash": .string(inputHash), "request": body ?? s(requestBody), "output": s(output),
            "batch_id": s(batchID), "shadow_of": s(shadowOf), "surface": .string(surface),
            "tool_calls": .array(toolCalls.map(\.json)), "output_sentiment": d(outputSentiment),
            "input_chars": inputChars.map(JSON.int) ?? .null, "input_script": s(inputScript),
        ])
    }

    /// RFC 3339 UTC with milliseconds.
    public static func iso8601(_ date: Date) -> String {
        Timestamp.iso8601(date)
    }
}
