import SluiceCore

extension ConfigLoader {
    /// Purpose keys that later features implement.
    static let laterPurposeKeys: [String: String] = [:]

    static func parseRetry(_ n: ConfigNode) throws -> SluiceConfig.Retry {
        var r = SluiceConfig.Retry()
        for (k, v) in try n.mapping(allowed: ["max_attempts", "base_ms", "max_ms"]) {
            let value = try v.int()
            switch k {
            case "max_attempts":
                guard (1...20).contains(value) else { throw v.error("max_attempts must be 1…20 (1 means no retry)") }
                r.maxAttempts = value
            case "base_ms":
                guard value >= 0 else { throw v.error("base_ms must not be negative") }
                r.baseMs = value
            case "max_ms":
                guard value >= 0 else { throw v.error("max_ms must not be negative") }
                r.maxMs = value
            default: break
            }
        }
        if r.maxMs < r.baseMs { throw n.error("max_ms (\(r.maxMs)) must be at least base_ms (\(r.baseMs))") }
        return r
    }

    static func parseBreaker(_ n: ConfigNode) throws -> SluiceConfig.Breaker {
        var b = SluiceConfig.Breaker()
        for (k, v) in try n.mapping(allowed: ["window_s", "min_calls", "error_rate", "cooldown_s"]) {
            switch k {
            case "window_s":
                b.windowS = try v.double()
                guard b.windowS > 0 else { throw v.error("window_s must be positive") }
            case "min_calls":
                b.minCalls = try v.int()
                guard b.minCalls >= 1 else { throw v.error("min_calls must be at least 1") }
            case "error_rate":
                b.errorRate = try v.double()
                guard b.errorRate > 0, b.errorRate <= 1 else { throw v.error("error_rate must be in (0, 1]") }
            case "cooldown_s":
                b.cooldownS = try v.double()
                guard b.cooldownS > 0 else { throw v.error("cooldown_s must be positive") }
            default: break
            }
        }
        return b
    }

    static func parsePurposes(_ n: ConfigNode) throws -> [String: SluiceConfig.Purpose] {
        var out: [String: SluiceConfig.Purpose] = [:]
        for (name, p) in try n.mapping() {
            guard CallContext.validName(name) else {
                throw p.error("purpose name '\(name)' must be 1–128 letters, digits, '_', '-', '.' or ':'")
            }
            var purpose = SluiceConfig.Purpose(name: name)
            for (k, v) in try p.mapping(
                allowed: [
                    "timeout_ms", "ttft_timeout_ms", "retry", "fallback_response", "prompt", "prompt_version", "model",
                    "params", "cache", "output_schema", "repair_attempts", "pii", "guards", "review", "stream_guard",
                    "daily_budget_usd", "variants", "mode", "shadow", "cascade", "drift",
                ], later: laterPurposeKeys)
            {
                switch k {
                case "timeout_ms", "ttft_timeout_ms":
                    let ms = try v.int()
                    guard ms > 0 else { throw v.error("\(k) must be positive") }
                    if k == "timeout_ms" { purpose.timeoutMs = ms } else { purpose.ttftTimeoutMs = ms }
                case "retry": purpose.retry = try parseRetry(v)
                case "fallback_response":
                    let value = try v.json()
                    guard value.stringValue != nil || value.objectValue != nil else {
                        throw v.error("fallback_response must be a text or a response object")
                    }
                    purpose.fallbackResponse = value
                case "prompt": purpose.prompt = try v.string()
                case "prompt_version": purpose.promptVersion = try v.string()
                case "model": purpose.model = try v.string()
                case "params":
                    guard case .object(let o) = try v.json() else { throw v.error("params must be a mapping of request parameters") }
                    for (pk, _) in o where ["messages", "model", "stream"].contains(pk) {
                        throw v.error("'\(pk)' cannot be a purpose parameter")
                    }
                    purpose.params = o
                case "cache": purpose.cache = try parseCachePolicy(v)
                case "output_schema": purpose.outputSchema = try parseSchema(v)
                case "repair_attempts":
                    purpose.repairAttempts = try v.int()
                    guard (0...5).contains(purpose.repairAttempts) else { throw v.error("repair_attempts must be 0…5") }
                case "pii":
                    let text = try v.string()
                    guard let mode = SluiceConfig.PIIMode(rawValue: text) else { throw v.error("pii must be off, redact or block; got '\(text)'") }
                    purpose.pii = mode
                case "guards": purpose.guards = try parseGuards(v)
                case "review": purpose.review = try parseReview(v)
                case "stream_guard":
                    let text = try v.string()
                    guard let mode = StreamGuardMode(rawValue: text) else {
                        throw v.error("stream_guard must be buffer or incremental; got '\(text)'")
                    }
                    purpose.streamGuard = mode
                case "shadow": purpose.shadow = try parseShadow(v)
                case "drift":
                    var model: String?, sample = 100
                    for (dk, dv) in try v.mapping(allowed: ["embedding_model", "sample"]) {
                        if dk == "embedding_model" { model = try dv.string() } else {
                            sample = try dv.int()
                            guard (5...2_000).contains(sample) else { throw dv.error("drift.sample must be 5…2000 inputs per window") }
                        }
                    }
                    guard let model else { throw v.error("drift needs embedding_model (a configured embeddings model)") }
                    purpose.driftEmbedding = (model, sample)
                case "cascade":
                    var list = v
                    if let mapping = try? v.mapping(allowed: ["models", "judge"]) {
                        guard let models = mapping.first(where: { $0.0 == "models" })?.1 else {
                            throw v.error("cascade needs models: [small, large]")
                        }
                        list = models
                        if let judge = mapping.first(where: { $0.0 == "judge" })?.1,
                            case .judge(let j) = try parseClassifier("judge", judge, rule: "cascade")
                        {
                            purpose.cascadeJudge = j
                        }
                    }
                    let models = try list.stringList()
                    guard models.count >= 2, Set(models).count == models.count else {
                        throw v.error("cascade must list at least two different models, smallest first, such as [fast, smart]")
                    }
                    purpose.cascade = models
                case "variants":
                    let arms = try v.json()
                    do { purpose.variants = try Variant.parseList(arms) } catch { throw v.error(error.message) }
                case "daily_budget_usd":
                    purpose.dailyBudgetUSD = try v.double()
                    guard (purpose.dailyBudgetUSD ?? 0) > 0 else { throw v.error("daily_budget_usd must be positive") }
                case "mode":
                    let text = try v.string()
                    guard let mode = SluiceConfig.PurposeMode(rawValue: text) else { throw v.error("mode must be sync or batch; got '\(text)'") }
                    purpose.mode = mode
                default: break
                }
            }
            // A cascade starts at its first model: purpose runs call it unless the purpose names one.
            if purpose.model == nil, let first = purpose.cascade.first { purpose.model = first }
            out[name] = purpose
        }
        return out
    }
}
