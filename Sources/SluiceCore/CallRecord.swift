import Foundation

/// One upstream attempt of a call.
public struct Attempt: Sendable, Equatable {
    /// The configured provider name the attempt went to.
    public var provider: String
    /// The upstream model id sent to that provider.
    public var model: String
    /// The upstream HTTP status, when a response arrived.
    public var status: Int?
    /// Milliseconds from sending to the answer (for a stream, its first chunk) or the failure.
    public var latencyMs: Double
    /// Why the attempt failed; `nil` when it succeeded.
    public var error: String?
    /// The `name` of the provider key (from its `api_keys:` pool) that made the attempt's last
    /// request; `nil` for a provider without a pool. Never the secret.
    public var key: String?
    /// Keys of the pool that answered 429 during the attempt before `key` was tried, in order.
    public var rateLimitedKeys: [String] = []

    /// Creates an attempt from its fields.
    public init(
        provider: String, model: String, status: Int?, latencyMs: Double, error: String?, key: String? = nil,
        rateLimitedKeys: [String] = []
    ) {
        self.provider = provider
        self.model = model
        self.status = status
        self.latencyMs = latencyMs
        self.error = error
        self.key = key
        self.rateLimitedKeys = rateLimitedKeys
    }

    /// The attempt as JSON for the call record; `key` and `rate_limited_keys` only when a key pool was used.
    public var json: JSON {
        var o: JSONObject = [
            "provider": .string(provider), "model": .string(model),
            "status": status.map(JSON.int) ?? .null,
            "latency_ms": .double((latencyMs * 1000).rounded() / 1000),
            "error": error.map(JSON.string) ?? .null,
        ]
        if let key { o["key"] = .string(key) }
        if !rateLimitedKeys.isEmpty { o["rate_limited_keys"] = .array(rateLimitedKeys.map(JSON.string)) }
        return .object(o)
    }

    /// Reads an attempt from its JSON form.
    public init?(json: JSON) {
        guard let p = json["provider"]?.stringValue, let m = json["model"]?.stringValue else { return nil }
        self.init(
            provider: p, model: m, status: json["status"]?.intValue,
            latencyMs: json["latency_ms"]?.doubleValue ?? 0, error: json["error"]?.stringValue, key: json["key"]?.stringValue,
            rateLimitedKeys: json["rate_limited_keys"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    }
}

/// Everything Sluice knows about one call, written to the call log.
public struct CallRecord: Sendable, Equatable {
    /// Final status values.
    public enum Status: String, Sendable {
        case ok, error
        /// The stream failed after bytes reached the client.
        case streamInterrupted = "stream_interrupted"
        /// Every target failed and the purpose's `fallback_response` was served.
        case degraded
    }

    /// The time-ordered call id, also sent as `X-Sluice-Call-Id`.
    public var callID: String
    /// When the call started, by the wall clock.
    public var createdAt: Date
    /// The run the client attributed the call to; `nil` when none was sent.
    public var runID: String?
    /// The call's purpose; `default` when the client named none.
    public var purpose: String
    /// The end user (header, `metadata` or the body's `user`); `nil` when none was sent.
    public var user: String?
    /// The virtual key's name (never the key).
    public var keyName: String?
    /// The prompt's name; always `nil` until prompts land.
    public var promptName: String?
    /// The prompt's version; always `nil` until prompts land.
    public var promptVersion: String?
    /// The prompt variant; always `nil` until prompts land.
    public var variant: String?
    /// The model the client asked for.
    public var model: String
    /// The provider Sluice called; `nil` when the call failed before reaching one.
    public var provider: String?
    /// The pinned model version the provider said answered.
    public var answeredModel: String?
    /// How the call ended.
    public var status: Status
    /// The error message the client got; `nil` when the call succeeded.
    public var error: String?
    /// The HTTP status the client got.
    public var httpStatus: Int
    /// The upstream attempts in order; empty when none was made.
    public var attempts: [Attempt]
    /// `hit`, `semantic_hit`, `miss` or `bypass`.
    public var cache: String
    /// For a `semantic_hit`: the cosine similarity of the input to the cached one.
    public var cacheSimilarity: Double?
    /// Whether the client asked for a stream.
    public var stream: Bool
    /// Token counts from the provider, or an estimate when it reported none.
    public var usage: Usage
    /// `nil` when the model has no price.
    public var costUSD: Double?
    /// USD saved: a cache hit's original cost, or what the provider's prompt cache saved.
    public var savedUSD: Double
    /// Total milliseconds from the request reaching Sluice to the call's end.
    public var latencyMs: Double
    /// Milliseconds to the first streamed chunk; `nil` when nothing was streamed.
    public var ttftMs: Double?
    /// Milliseconds spent in Sluice rather than upstream; `nil` when no upstream answer arrived.
    public var overheadMs: Double?
    /// Whether the answer matched the requested schema; `nil` when none was requested.
    public var schemaValid: Bool?
    /// Whether the model refused; `nil` when not checked.
    public var refusal: Bool?
    /// Repair attempts made after the first answer failed its schema.
    public var repairs: Int = 0
    /// Guard rules that flagged the call (`input:no_urls`, `output:max_length`).
    public var guardFlags: [String] = []
    /// What each classifier guard (webhook, moderation, judge) said, with its latency and cost.
    public var guardVerdicts: [GuardVerdict] = []
    /// Sampling parameters (the request without messages).
    public var params: JSONObject
    /// SHA-256 of the canonical messages and parameters.
    public var inputHash: String
    /// The request body per `storage.log_bodies`; `nil` in `hash` mode.
    public var requestBody: String?
    /// The answer text per `storage.log_bodies`; `nil` in `hash` mode.
    public var output: String?
    /// The task batch (`batch_…`) the call was sent in through the provider's batch API; `nil` for a direct call.
    public var batchID: String?
    /// For a shadow run (purpose `PURPOSE:shadow`): the id of the live call it shadowed; `nil` otherwise.
    public var shadowOf: String?
    /// The inbound API the call came in on: `chat`, `messages`, `responses`, `run`, `task` or `embeddings`.
    public var surface: String = "chat"
    /// The tool calls of the answer (choice 0), whole or streamed, per `storage.log_bodies`:
    /// name and arguments (`full`), name and an argument length marker (`redacted`), names only (`hash`).
    public var toolCalls: [ToolCall] = []
    /// The answer text's sentiment in −1…1 (``SentimentScorer``); `nil` when there was no text answer.
    public var outputSentiment: Double?
    /// Characters of text in the request's messages; `nil` when not a chat request.
    public var inputChars: Int?
    /// The dominant script of the request's text (`latin`, `cjk`, `cyrillic`, `arabic`, `other`); `nil` when none.
    public var inputScript: String?

    /// A new record: no attempts, zero usage, cache `bypass`, the optional fields `nil`.
    public init(
        callID: String, createdAt: Date, purpose: String, model: String, status: Status = .ok,
        httpStatus: Int = 200, inputHash: String = ""
    ) {
        self.callID = callID
        self.createdAt = createdAt
        self.purpose = purpose
        self.model = model
        self.status = status
        self.httpStatus = httpStatus
        self.attempts = []
        self.cache = "bypass"
        self.stream = false
        self.usage = Usage()
        self.savedUSD = 0
        self.latencyMs = 0
        self.params = JSONObject()
        self.inputHash = inputHash
    }
}
