/// Why an upstream attempt failed.
public struct ProviderError: Error, Sendable, CustomStringConvertible {
    /// The failure class, which decides whether a retry can help.
    public enum Kind: String, Sendable {
        /// The upstream answered with a non-2xx status.
        case http
        /// Could not connect, or the connection broke.
        case connection
        /// The upstream took longer than its timeout.
        case timeout
        /// A 2xx whose body is not what the API promises.
        case invalidResponse = "invalid_response"
    }

    /// The failure class.
    public var kind: Kind
    /// The upstream status, when a response arrived.
    public var status: Int?
    /// The upstream's own message, or what went wrong.
    public var message: String
    /// `Retry-After` in seconds, when the upstream sent one.
    public var retryAfterSeconds: Double?

    /// An error of `kind`, with the upstream status and `Retry-After` when known.
    public init(_ kind: Kind, status: Int? = nil, message: String, retryAfterSeconds: Double? = nil) {
        self.kind = kind
        self.status = status
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// `KIND STATUS: MESSAGE`, without the status when there is none.
    public var description: String {
        if let status { return "\(kind.rawValue) \(status): \(message)" }
        return "\(kind.rawValue): \(message)"
    }
}
