import SluiceCore

/// The fields of the one JSON log line written per call: who, what, which
/// prompt, how it was decided (cache, fallback, repair, budget), how it ended,
/// tokens, cost and latency. Grep a run with `grep '"run_id":"RUN"'`.
enum CallLogLine {
    /// Error codes that mean a budget or rate limit refused the call.
    static let budgetCodes: [String: String] = [
        "budget_exceeded": "budget_exceeded", "budget_busy": "budget_busy", "run_budget_exceeded": "run_budget_exceeded",
        "run_call_limit": "run_call_limit", "rate_limited": "rate_limited",
    ]

    static func fields(_ r: CallRecord, errorCode: String?) -> JSONObject {
        var f: JSONObject = [
            "log": "call", "call_id": .string(r.callID), "purpose": .string(r.purpose), "model": .string(r.model),
            "status": .string(r.status.rawValue), "http_status": .int(r.httpStatus),
            "input_tokens": .int(r.usage.inputTokens), "output_tokens": .int(r.usage.outputTokens),
            "latency_ms": .double((r.latencyMs * 1000).rounded() / 1000),
            "cost_usd": r.costUSD.map { .double(($0 * 1e9).rounded() / 1e9) } ?? .null,
        ]
        if let v = r.runID { f["run_id"] = .string(v) }
        if let v = r.promptName { f["prompt"] = .string(v) }
        if let v = r.promptVersion { f["prompt_version"] = .string(v) }
        if let v = r.variant { f["variant"] = .string(v) }
        if let v = r.provider { f["provider"] = .string(v) }
        if let v = r.answeredModel { f["answered_model"] = .string(v) }
        if let v = r.keyName { f["key"] = .string(v) }
        if r.usage.cachedTokens > 0 { f["cached_tokens"] = .int(r.usage.cachedTokens) }
        if let v = r.ttftMs { f["ttft_ms"] = .double((v * 1000).rounded() / 1000) }
        if let v = r.shadowOf { f["shadow_of"] = .string(v) }
        f["decision"] = decision(r, errorCode: errorCode)
        if let v = errorCode { f["error_code"] = .string(v) }
        if let v = r.error { f["error"] = .string(v) }
        return f
    }

    /// How the call was decided: the cache's answer, whether another target
    /// than the first answered, how many repair rounds ran, and the budget's verdict.
    static func decision(_ r: CallRecord, errorCode: String?) -> JSON {
        let first = r.attempts.first
        let fellBack = r.attempts.count > 1 && r.status == .ok
            && (r.attempts.last?.provider != first?.provider || r.attempts.last?.model != first?.model)
        return [
            "cache": .string(r.cache), "attempts": .int(r.attempts.count), "fallback": .bool(fellBack),
            "degraded": .bool(r.status == .degraded), "repairs": .int(r.repairs),
            "budget": .string(errorCode.flatMap { budgetCodes[$0] } ?? "ok"),
        ]
    }
}
