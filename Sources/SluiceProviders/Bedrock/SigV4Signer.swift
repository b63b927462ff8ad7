import Crypto
import Foundation

/// AWS credentials for SigV4 signing. `description` never shows the secrets.
public struct AWSCredentials: Sendable, Equatable, CustomStringConvertible {
    /// The access key id (`AKIA…` or `ASIA…`), sent in the `Credential` of every signature.
    public var accessKeyID: String
    /// The secret access key; only ever used as HMAC key material.
    public var secretAccessKey: String
    /// The session token of temporary credentials, sent as `X-Amz-Security-Token`.
    public var sessionToken: String?

    /// Credentials from their parts.
    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// The access key id and whether a session token is set; never the secret.
    public var description: String { "AWSCredentials(\(accessKeyID), secret: ***\(sessionToken == nil ? "" : ", session token: ***"))" }
}

/// Signs HTTP requests with AWS Signature Version 4 (header form), as botocore's
/// `SigV4Auth` does: the canonical URI is the request path percent-encoded once more
/// (so a model id's `%3A` is signed as `%253A`), every header handed in is signed, and the
/// payload hash is the SHA-256 of the body.
///
/// ```swift
/// let signer = SigV4Signer(service: "bedrock", region: "us-east-1", credentials: creds)
/// let headers = signer.sign(method: "POST", url: url, headers: [("content-type", "application/json")], body: bytes, date: now)
/// ```
public struct SigV4Signer: Sendable {
    /// The service name of the credential scope (`bedrock`).
    public var service: String
    /// The region of the credential scope (`us-east-1`).
    public var region: String
    /// Who signs.
    public var credentials: AWSCredentials

    /// A signer for `service` in `region`.
    public init(service: String, region: String, credentials: AWSCredentials) {
        self.service = service
        self.region = region
        self.credentials = credentials
    }

    /// The headers to add to the request: `x-amz-date`, `x-amz-security-token` (with a session
    /// token) and `authorization`. `headers` are the request's own headers to sign (lowercase names;
    /// `host` is derived from `url` when absent).
    public func sign(method: String, url: String, headers: [(String, String)], body: [UInt8], date: Date) -> [(String, String)] {
        let stamp = Self.timestamp(date)
        let day = String(stamp.prefix(8))
        var signed: [(String, String)] = headers.map { ($0.0.lowercased(), Self.trimmed($0.1)) }
        if !signed.contains(where: { $0.0 == "host" }) { signed.append(("host", Self.host(of: url))) }
        var added: [(String, String)] = [("x-amz-date", stamp)]
        if let token = credentials.sessionToken { added.append(("x-amz-security-token", token)) }
        signed += added
        // Repeated names join with commas, in their order, as botocore does.
        var byName: [String: [String]] = [:]
        for (name, value) in signed { byName[name, default: []].append(value) }
        let names = byName.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(byName[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let canonical = [
            method.uppercased(), Self.canonicalURI(url), Self.canonicalQuery(url), canonicalHeaders, signedHeaders,
            Self.hex(SHA256.hash(data: body)),
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let toSign = ["AWS4-HMAC-SHA256", stamp, scope, Self.hex(SHA256.hash(data: Array(canonical.utf8)))].joined(separator: "\n")
        var key = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] { key = SymmetricKey(data: Self.hmac(key, part)) }
        let signature = Self.hex(Self.hmac(key, toSign))
        added.append((
            "authorization",
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        ))
        return added
    }

    static func hmac(_ key: SymmetricKey, _ message: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: key))
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `YYYYMMDDTHHMMSSZ` in UTC.
    static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ n: Int?) -> String { let v = n ?? 0; return v < 10 ? "0\(v)" : "\(v)" }
        return "\(c.year ?? 1970)\(two(c.month))\(two(c.day))T\(two(c.hour))\(two(c.minute))\(two(c.second))Z"
    }

    /// A header value with surrounding spaces removed and inner runs of spaces collapsed.
    static func trimmed(_ value: String) -> String {
        value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }

    /// `host[:port]` of an absolute URL, the port only when it is not the scheme's default.
    static func host(of url: String) -> String {
        guard let c = URLComponents(string: url), let host = c.host else { return "" }
        if let port = c.port, !(c.scheme == "https" && port == 443) && !(c.scheme == "http" && port == 80) {
            return "\(host):\(port)"
        }
        return host
    }

    /// The characters SigV4 leaves unencoded (RFC 3986 unreserved).
    static let unreserved: Set<UInt8> = Set(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~".utf8))

    /// Percent-encodes every byte of `text` but the unreserved ones and those in `keep`.
    public static func percentEncode(_ text: String, keeping keep: Set<UInt8> = []) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in text.utf8 {
            if unreserved.contains(b) || keep.contains(b) {
                out.append(b)
            } else {
                out += [UInt8(ascii: "%"), digits[Int(b >> 4)], digits[Int(b & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The request path (as sent, percent-encoded) encoded once more, `/` kept; `/` when empty.
    static func canonicalURI(_ url: String) -> String {
        let path = URLComponents(string: url)?.percentEncodedPath ?? "/"
        return path.isEmpty ? "/" : percentEncode(path, keeping: [UInt8(ascii: "/")])
    }

    /// The query's `key=value` pairs sorted, as sent.
    static func canonicalQuery(_ url: String) -> String {
        guard let query = URLComponents(string: url)?.percentEncodedQuery, !query.isEmpty else { return "" }
        var pairs: [(key: String, value: String)] = []
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            pairs.append((String(parts[0]), parts.count > 1 ? String(parts[1]) : ""))
        }
        pairs.sort { a, b in a.key == b.key ? a.value < b.value : a.key < b.key }
        return pairs.map { p in p.key + "=" + p.value }.joined(separator: "&")
    }
}
