/// The one error type that reaches the HTTP edge. Its ``Code`` is opaque and
/// maps to exactly one status and `code` string of SPEC's error table.
public struct SluiceError: Error, Sendable, CustomStringConvertible {
    /// The error code as SPEC names it.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The `code` string in the error body.
        public let name: String
        /// The HTTP status.
        public let status: Int
        /// The OpenAI `type` string.
        public let type: String

        /// The `code` string.
        public var description: String { name }

        /// 400: malformed JSON, wrong types, unknown model or invalid attribution.
        public static let invalidRequest = Code(name: "invalid_request", status: 400, type: "invalid_request_error")
        /// 401: the API key is missing or not valid.
        public static let invalidAPIKey = Code(name: "invalid_api_key", status: 401, type: "authentication_error")
        /// 403: the key may not use this purpose, or an admin route lacks the admin key.
        public static let forbidden = Code(name: "forbidden", status: 403, type: "permission_error")
        /// 404: no such route or call.
        public static let notFound = Code(name: "not_found", status: 404, type: "invalid_request_error")
        /// 405: the route does not take this method.
        public static let methodNotAllowed = Code(name: "method_not_allowed", status: 405, type: "invalid_request_error")
        /// 409: the same idempotency key came with a different body.
        public static let idempotencyConflict = Code(name: "idempotency_conflict", status: 409, type: "invalid_request_error")
        /// 413: the body is over `server.max_body_bytes`.
        public static let payloadTooLarge = Code(name: "payload_too_large", status: 413, type: "invalid_request_error")
        /// 422: the output is still invalid after repair attempts.
        public static let schemaValidationFailed = Code(name: "schema_validation_failed", status: 422, type: "invalid_response_error")
        /// 400: the request holds personal data or secrets and the purpose's `pii` is `block`.
        public static let piiDetected = Code(name: "pii_detected", status: 400, type: "invalid_request_error")
        /// 400: an input guard with `action: block` matched.
        public static let guardBlocked = Code(name: "guard_blocked", status: 400, type: "invalid_request_error")
        /// 422: an output guard with `action: block` matched the answer.
        public static let outputBlocked = Code(name: "output_blocked", status: 422, type: "invalid_response_error")
        /// 429: a rate limit was hit.
        public static let rateLimited = Code(name: "rate_limited", status: 429, type: "rate_limit_error")
        /// 429: a spending budget is used up.
        public static let budgetExceeded = Code(name: "budget_exceeded", status: 429, type: "rate_limit_error")
        /// 429: money reserved by calls in flight fills a budget for now; retry shortly.
        public static let budgetBusy = Code(name: "budget_busy", status: 429, type: "rate_limit_error")
        /// 429: the run's `X-Sluice-Run-Budget-Usd` is used up.
        public static let runBudgetExceeded = Code(name: "run_budget_exceeded", status: 429, type: "rate_limit_error")
        /// 429: the run made its `X-Sluice-Run-Max-Calls` calls.
        public static let runCallLimit = Code(name: "run_call_limit", status: 429, type: "rate_limit_error")
        /// 502: every upstream target failed.
        public static let upstreamError = Code(name: "upstream_error", status: 502, type: "api_error")
        /// 503: the purpose's kill switch is on.
        public static let disabled = Code(name: "disabled", status: 503, type: "api_error")
        /// 503: every target's circuit breaker is open.
        public static let breakerOpen = Code(name: "breaker_open", status: 503, type: "api_error")
        /// 504: the purpose's `timeout_ms` passed.
        public static let timeout = Code(name: "timeout", status: 504, type: "timeout_error")
        /// 499: the caller went away before the call ended (recorded, never sent).
        public static let clientClosed = Code(name: "client_closed_request", status: 499, type: "api_error")
        /// 500: an unexpected failure inside Sluice.
        public static let internalError = Code(name: "internal_error", status: 500, type: "api_error")
    }

    /// What kind of error.
    public var code: Code
    /// A message a person can act on.
    public var message: String
    /// The request field at fault, when there is one.
    public var param: String?
    /// Extra members of the error object (for example `attempts`, `upstream_status`).
    public var details: JSONObject
    /// Seconds a client should wait before retrying, sent as `Retry-After`.
    public var retryAfterSeconds: Int?

    /// An error with its code and message, and optionally the field at fault, extra body members and `Retry-After`.
    public init(_ code: Code, _ message: String, param: String? = nil, details: JSONObject = JSONObject(), retryAfterSeconds: Int? = nil) {
        self.code = code
        self.message = message
        self.param = param
        self.details = details
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// `CODE: MESSAGE`.
    public var description: String { "\(code.name): \(message)" }

    /// Shorthand for a 400 `invalid_request`.
    public static func invalidRequest(_ message: String, param: String? = nil) -> SluiceError {
        SluiceError(.invalidRequest, message, param: param)
    }

    /// The OpenAI-shaped body: `{"error":{"message","type","param","code",…details}}`.
    public var openAIBody: JSON {
        var err = JSONObject()
        err["message"] = .string(message)
        err["type"] = .string(code.type)
        err["param"] = param.map(JSON.string) ?? .null
        err["code"] = .string(code.name)
        for (k, v) in details { err[k] = v }
        return .object(JSONObject([("error", .object(err))]))
    }
}
