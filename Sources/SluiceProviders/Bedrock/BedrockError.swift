import NIOHTTP1
import SluiceCore

/// Bedrock's errors (an HTTP answer's `x-amzn-ErrorType` header or JSON `__type`, or a stream's
/// `exception` frame) as Sluice's failure classes: the status decides whether a retry or
/// another target can help (``ProviderError``).
enum BedrockError {
    /// The error for a non-2xx answer. `secrets` are scrubbed from the upstream's message.
    static func http(status: Int, body: [UInt8], headers: HTTPHeaders, secrets: [String]) -> ProviderError {
        let json = try? JSON.parse(body)
        let type = headers.first(name: "x-amzn-errortype") ?? json?["__type"]?.stringValue ?? json?["code"]?.stringValue
        var message = json?["message"]?.stringValue ?? json?["Message"]?.stringValue
        if message == nil, json == nil, !body.isEmpty { message = String(decoding: body.prefix(300), as: UTF8.self) }
        let retryAfter = headers.first(name: "retry-after").flatMap { RetryAfter.seconds($0) }
        return mapped(type: type, message: message, status: status, retryAfter: retryAfter, secrets: secrets)
    }

    /// The error for an `exception` frame of a ConverseStream answer (`:exception-type` in lowerCamelCase).
    static func streamException(type: String?, payload: [UInt8], secrets: [String]) -> ProviderError {
        let json = try? JSON.parse(payload)
        let message = json?["message"]?.stringValue ?? json?["Message"]?.stringValue
        return mapped(type: type, message: message, status: nil, retryAfter: nil, secrets: secrets)
    }

    /// `ThrottlingException:http://internal.amazon.com/…` or `com.amazon…#ThrottlingException` → `throttlingexception`.
    static func normalized(_ type: String?) -> String {
        guard var t = type else { return "" }
        if let colon = t.firstIndex(of: ":") { t = String(t[..<colon]) }
        if let hash = t.lastIndex(of: "#") { t = String(t[t.index(after: hash)...]) }
        return t.lowercased()
    }

    static func mapped(type: String?, message: String?, status: Int?, retryAfter: Double?, secrets: [String]) -> ProviderError {
        let name = normalized(type)
        let display = type.map { t in t.split(separator: ":").first.map(String.init) ?? t } ?? "HTTP \(status ?? 0)"
        let upstream = SecretScrubber.scrub(message ?? "no message", known: secrets)
        let text = "Bedrock \(display): \(upstream)"
        switch name {
        case "throttlingexception":
            return ProviderError(.http, status: 429, message: text, retryAfterSeconds: retryAfter)
        case "servicequotaexceededexception":
            return ProviderError(.http, status: 429, message: text, retryAfterSeconds: retryAfter)
        case "validationexception":
            return ProviderError(.http, status: 400, message: text)
        case "accessdeniedexception":
            return ProviderError(
                .http, status: 403,
                message: text + " (the credentials are valid but may not invoke this model: check the IAM policy allows "
                    + "bedrock:InvokeModel and bedrock:InvokeModelWithResponseStream, and that model access is enabled in this region)")
        case "unrecognizedclientexception", "invalidsignatureexception", "signaturedoesnotmatch", "expiredtokenexception",
            "incompletesignatureexception", "missingauthenticationtokenexception", "invalidclienttokenid":
            return ProviderError(
                .http, status: status == 401 ? 401 : 403,
                message: text + " (check the provider's access_key_id, secret_access_key and session_token, or AWS_ACCESS_KEY_ID, "
                    + "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN; temporary credentials expire)")
        case "resourcenotfoundexception":
            return ProviderError(.http, status: 404, message: text + " (check the model id and that the model is offered in this region)")
        case "modelnotreadyexception", "serviceunavailableexception":
            return ProviderError(.http, status: 503, message: text, retryAfterSeconds: retryAfter)
        case "internalserverexception":
            return ProviderError(.http, status: 500, message: text, retryAfterSeconds: retryAfter)
        case "modeltimeoutexception":
            return ProviderError(.http, status: 408, message: text)
        case "modelerrorexception":
            return ProviderError(.http, status: 502, message: text)
        case "modelstreamerrorexception":
            return ProviderError(.connection, message: text)
        default:
            guard let status else { return ProviderError(.connection, message: text) }
            return ProviderError(.http, status: status, message: text, retryAfterSeconds: retryAfter)
        }
    }
}
