import SluiceCore

extension SluiceConfig {
    /// `retry:`: how often one target is tried, and how long to wait between tries.
    public struct Retry: Sendable, Equatable {
        /// Tries per target, the first included (1 = no retry).
        public var maxAttempts = 3
        /// The backoff base: try N waits a random time up to `base_ms × 2^(N-1)` (full jitter).
        public var baseMs = 250
        /// The most one wait can be.
        public var maxMs = 8_000
        /// The defaults: 3 tries, 250 ms base, 8 s cap.
        public init() {}
    }

    /// `breaker:`: when a target's circuit opens, and for how long.
    public struct Breaker: Sendable, Equatable {
        /// The sliding window the error rate is measured over.
        public var windowS = 30.0
        /// Calls the window needs before the breaker may open.
        public var minCalls = 10
        /// The error rate (0…1) that opens the breaker.
        public var errorRate = 0.5
        /// How long an open breaker skips its target before one probe is let through.
        public var cooldownS = 30.0
        /// The defaults: 30 s window, 10 calls, 50 %, 30 s cool-down.
        public init() {}
    }

    /// A purpose: its prompt, model, cache and resilience settings (budgets and the rest arrive with later features).
    public struct Purpose: Sendable {
        /// The purpose name.
        public var name: String
        /// Bounds the whole call, retries and fallbacks included (for a stream: until its first byte).
        public var timeoutMs: Int?
        /// For streams: how long one target may take to send its first token before the next is tried.
        public var ttftTimeoutMs: Int?
        /// Overrides the global `retry:`.
        public var retry: Retry?
        /// Served (marked `X-Sluice-Degraded: true`) when every target fails: a text, or a whole response body.
        public var fallbackResponse: JSON?
        /// The prompt `POST /v1/purposes/{purpose}/run` renders.
        public var prompt: String?
        /// Pins the prompt's version; the live version when `nil`.
        public var promptVersion: String?
        /// The configured model to call; otherwise the prompt's.
        public var model: String?
        /// Request parameters; they override the prompt's.
        public var params = JSONObject()
        /// Response caching; off when `nil` (raw calls may still opt in with `X-Sluice-Cache`).
        public var cache: CachePolicy?
        /// The JSON Schema every answer must match (overrides the prompt's).
        public var outputSchema: JSON?
        /// How many times an answer that fails its schema is sent back for repair.
        public var repairAttempts = 1
        /// Personal data in requests: passed, replaced by placeholders, or refused.
        public var pii: PIIMode = .off
        /// Input and output guard rules.
        public var guards = Guards()
        /// Which outputs go to the human review queue.
        public var review: ReviewWhen = .never
        /// `stream_guard: buffer | incremental`: how output guards meet streamed answers; `nil` for the default.
        public var streamGuard: StreamGuardMode?
        /// The purpose's spending cap per UTC day.
        public var dailyBudgetUSD: Double?
        /// `mode:`: how its tasks run; `sync` by default.
        public var mode: PurposeMode = .sync
        /// Arms that take a share of calls with another prompt version or model.
        public var variants: [Variant] = []
        /// A candidate run in the background on a sample of calls, for comparison; none when `nil`.
        public var shadow: Shadow?
        /// `cascade: [small, large]`: models tried in order; a bad answer escalates to the next. Empty for none.
        public var cascade: [String] = []
        /// `drift: {embedding_model, sample}`: input drift also measures the share of recent inputs
        /// far from the baseline's centroid, embedding up to `sample` inputs of each window.
        public var driftEmbedding: (model: String, sample: Int)?
        /// `cascade: {models, judge}`: an LLM judge whose score under `min` escalates too (on a `sample` of calls).
        public var cascadeJudge: GuardClassifier.Judge?

        /// A purpose with no settings of its own.
        public init(name: String) { self.name = name }
    }
}
