import Foundation

/// One upstream attempt of a call.
public struct Attempt: Sendable, Equatable {
    public var provider: String
    public var model: String
    /// The upstream HTTP status, when a response arrived.
    public var status: Int?
    public var latencyMs: Double
    public var error: String?

    public init(provider: String, model: String, status: Int?, latencyMs: Double, error: String?) {
        self.provider = provider
        self.model = model
        self.status = status
        self.latencyMs = latencyMs
        self.error = error
    }

    /// The attempt as JSON for the call record.
    public var json: JSON {
        [
            "provider": .string(provider), "model": .string(model),
            "status": status.map(JSON.int) ?? .null,
            "latency_ms": .double((latencyMs * 1000).rounded() / 1000),
            "error": error.map(JSON.string) ?? .null,
        ]
    }

    /// Reads an attempt from its JSON form.
    public init?(json: JSON) {
        guard let p = json["provider"]?.stringValue, let m = json["model"]?.stringValue else { return nil }
        self.init(
            provider: p, model: m, status: json["status"]?.intValue,
            latencyMs: json["latency_ms"]?.doubleValue ?? 0, error: json["error"]?.stringValue)
    }
}

/// Everything Sluice knows about one call, written to the call log.
public struct CallRecord: Sendable, Equatable {
    /// Final status values.
    public enum Status: String, Sendable {
        case ok, error
        /// The stream failed after bytes reached the client.
        case streamInterrupted = "stream_interrupted"
    }

    public var callID: String
    public var createdAt: Date
    public var runID: String?
    public var purpose: String
    public var user: String?
    /// The virtual key's name (never the key).
    public var keyName: String?
    public var promptName: String?
    public var promptVersion: String?
    public var variant: String?
    /// The model the client asked for.
    public var model: String
    public var provider: String?
    /// The pinned model version the provider said answered.
    public var answeredModel: String?
    public var status: Status
    public var error: String?
    /// The HTTP status the client got.
    public var httpStatus: Int
    public var attempts: [Attempt]
    /// `hit`, `miss` or `bypass`.
    public var cache: String
    public var stream: Bool
    public var usage: Usage
    /// `nil` when the model has no price.
    public var costUSD: Double?
    public var savedUSD: Double
    public var latencyMs: Double
    public var ttftMs: Double?
    public var overheadMs: Double?
    public var schemaValid: Bool?
    public var refusal: Bool?
    /// Sampling parameters (the request without messages).
    public var params: JSONObject
    /// SHA-256 of the canonical messages and parameters.
    public var inputHash: String
    /// The request body per `storage.log_bodies`; `nil` in `hash` mode.
    public var requestBody: String?
    /// The answer text per `storage.log_bodies`; `nil` in `hash` mode.
    public var output: String?

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
