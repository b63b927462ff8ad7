import SluiceCore

/// How one purpose's calls meet failure: retries, deadline, time to first
/// token, and the degraded answer served when every target fails.
public struct CallPolicy: Sendable {
    /// Backoff between tries of one target.
    public var retry: RetryPolicy
    /// The whole call's budget (retries and fallbacks included); `nil` for none.
    public var timeout: Duration?
    /// For streams: how long one target may take to its first chunk.
    public var ttftTimeout: Duration?
    /// Served with `X-Sluice-Degraded: true` when every target fails.
    public var fallbackResponse: JSON?
    /// The purpose's response cache; `nil` when it sets none.
    public var cache: SluiceConfig.CachePolicy?
    /// The TTL of calls that opt in with `X-Sluice-Cache` when the purpose sets no cache.
    public var defaultCacheTTL: Double
    /// The purpose's own output schema (a prompt's or the request's apply otherwise).
    public var outputSchema: JSON?
    /// Repairs allowed after an answer fails its schema.
    public var repairAttempts: Int
    /// What happens to personal data in requests.
    public var pii: SluiceConfig.PIIMode
    /// Input and output guard rules.
    public var guards: Guards
    /// Which outputs are queued for review.
    public var review: SluiceConfig.ReviewWhen
    /// How output guards meet streams; `nil` for the default (``StreamGuardMode/effective(configured:guards:)``).
    public var streamGuard: StreamGuardMode?
    /// Models tried in order, a bad answer escalating to the next; empty for none.
    public var cascade: [String]
    /// The cascade's judge: a score under its `min` escalates too.
    public var cascadeJudge: GuardClassifier.Judge?

    /// The policy of `purpose` under `config`: the purpose's own settings over the global `retry:`.
    public init(config: SluiceConfig, purpose: String) {
        let p = config.purposes[purpose]
        retry = RetryPolicy(p?.retry ?? config.retry)
        timeout = p?.timeoutMs.map { .milliseconds($0) }
        ttftTimeout = p?.ttftTimeoutMs.map { .milliseconds($0) }
        fallbackResponse = p?.fallbackResponse
        cache = p?.cache
        defaultCacheTTL = config.cache.defaultTTLSeconds
        outputSchema = p?.outputSchema
        repairAttempts = p?.repairAttempts ?? 1
        pii = p?.pii ?? .off
        guards = p?.guards ?? Guards()
        review = p?.review ?? .never
        streamGuard = p?.streamGuard
        cascade = p?.cascade ?? []
        cascadeJudge = p?.cascadeJudge
    }
}

/// Every purpose's ``CallPolicy``, resolved once at start.
public struct CallPolicies: Sendable {
    let byPurpose: [String: CallPolicy]
    let fallback: CallPolicy

    /// Policies for the purposes of `config`; other purposes get the global settings.
    public init(config: SluiceConfig) {
        var map: [String: CallPolicy] = [:]
        for name in config.purposes.keys { map[name] = CallPolicy(config: config, purpose: name) }
        byPurpose = map
        fallback = CallPolicy(config: config, purpose: "")
    }

    /// The policy for `purpose`.
    public subscript(purpose: String) -> CallPolicy {
        byPurpose[purpose] ?? shadowPolicy(for: purpose) ?? evalPolicy(for: purpose) ?? fallback
    }

    /// When the config defines purposes, a call naming another one (besides
    /// `default`) is a 400 naming it: a typo must not quietly become a new purpose.
    func check(purpose: String) throws(SluiceError) {
        guard !byPurpose.isEmpty, purpose != "default", byPurpose[purpose] == nil, shadowPolicy(for: purpose) == nil,
            evalPolicy(for: purpose) == nil
        else { return }
        throw .invalidRequest(
            "Unknown purpose '\(purpose)'; configured purposes: \(byPurpose.keys.sorted().joined(separator: ", ")).",
            param: "X-Sluice-Purpose")
    }
}
