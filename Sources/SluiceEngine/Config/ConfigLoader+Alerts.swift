import SluiceCore

extension ConfigLoader {
    /// `alerts: {webhook, interval, rules: [{metric, purpose, above|below, window, min_calls}]}`.
    static func parseAlerts(_ n: ConfigNode) throws -> AlertsConfig {
        var a = AlertsConfig()
        for (k, v) in try n.mapping(allowed: ["webhook", "interval", "rules"]) {
            switch k {
            case "webhook":
                let url = try v.string()
                if !url.isEmpty {
                    guard url.hasPrefix("http://") || url.hasPrefix("https://") else { throw v.error("webhook must be an http(s) URL") }
                    a.webhook = url
                }
            case "interval":
                guard let s = SluiceConfig.seconds(try v.string()), s >= 1 else { throw v.error("interval must be a duration such as 60s or 1m") }
                a.intervalSeconds = s
            case "rules":
                a.rules = try v.sequence().map { r throws -> AlertRule in
                    var metric: AlertRule.Metric?
                    var rule = AlertRule(metric: .dailySpendUSD)
                    for (rk, rv) in try r.mapping(allowed: ["metric", "purpose", "above", "below", "window", "min_calls"]) {
                        switch rk {
                        case "metric":
                            let text = try rv.string()
                            guard let m = AlertRule.Metric(rawValue: text) else {
                                throw rv.error("unknown metric '\(text)'; expected one of \(AlertRule.Metric.allCases.map(\.rawValue).joined(separator: ", "))")
                            }
                            metric = m
                        case "purpose": rule.purpose = try rv.string()
                        case "above": rule.above = try rv.double()
                        case "below": rule.below = try rv.double()
                        case "window":
                            guard let s = SluiceConfig.seconds(try rv.string()) else { throw rv.error("window must be a duration such as 15m or 1d") }
                            rule.windowSeconds = s
                        case "min_calls": rule.minCalls = max(1, try rv.int())
                        default: break
                        }
                    }
                    guard let metric else { throw r.error("every alert rule needs a metric") }
                    rule.metric = metric
                    if metric == .breakerTripped, rule.above == nil, rule.below == nil { rule.above = 0.5 }
                    guard rule.above != nil || rule.below != nil else { throw r.error("alert rule '\(metric.rawValue)' needs 'above' or 'below'") }
                    return rule
                }
            default: break
            }
        }
        return a
    }
}

extension ConfigLoader {
    /// `tasks: {workers, timeout_s, max_attempts, webhook_secret, sweep_interval_s, batch_interval_s, batch_poll_s, batch_max}`.
    static func parseTasks(_ n: ConfigNode) throws -> SluiceConfig.Tasks {
        var t = SluiceConfig.Tasks()
        for (k, v) in try n.mapping(
            allowed: [
                "workers", "timeout_s", "max_attempts", "webhook_secret", "sweep_interval_s", "batch_interval_s", "batch_poll_s",
                "batch_max",
            ])
        {
            switch k {
            case "workers":
                t.workers = try v.int()
                guard (0...256).contains(t.workers) else { throw v.error("workers must be 0…256 (0 runs no tasks on this node)") }
            case "timeout_s":
                t.timeoutS = try v.double()
                guard t.timeoutS >= 1 else { throw v.error("timeout_s must be at least 1") }
            case "max_attempts":
                t.maxAttempts = try v.int()
                guard (1...20).contains(t.maxAttempts) else { throw v.error("max_attempts must be 1…20") }
            case "webhook_secret": t.webhookSecret = try v.string()
            case "sweep_interval_s":
                t.sweepIntervalS = try v.double()
                guard t.sweepIntervalS > 0 else { throw v.error("sweep_interval_s must be positive") }
            case "batch_interval_s":
                t.batchIntervalS = try v.double()
                guard t.batchIntervalS > 0 else { throw v.error("batch_interval_s must be positive") }
            case "batch_poll_s":
                t.batchPollS = try v.double()
                guard t.batchPollS > 0 else { throw v.error("batch_poll_s must be positive") }
            case "batch_max":
                t.batchMax = try v.int()
                guard (1...50_000).contains(t.batchMax) else { throw v.error("batch_max must be 1…50000 (the providers' limit per batch)") }
            default: break
            }
        }
        return t
    }

    /// Task webhooks are signed with `tasks.webhook_secret`, else the admin key; a gateway with keys
    /// but neither sends them unsigned, which `check-config` and `serve` say.
    static func taskWebhookWarnings(_ c: SluiceConfig) -> [String] {
        guard c.tasks.webhookSecret == nil, c.auth.adminKey == nil, !c.auth.keys.isEmpty else { return [] }
        return [
            "tasks: neither tasks.webhook_secret nor auth.admin_key is set, so task webhooks are sent without "
                + "an X-Sluice-Signature header; set tasks.webhook_secret so receivers can verify them"
        ]
    }
}
