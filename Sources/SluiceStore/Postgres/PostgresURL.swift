import Foundation

/// A parsed `postgres://USER:PASS@HOST:PORT/DB?schema=NAME&sslmode=MODE&pool_max=N` URL.
///
/// Printing it (`"\(url)"`, `String(reflecting:)`, `dump`) shows ``redacted``: the password never reaches a log.
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// How to use TLS, as libpq's `sslmode` names it.
    public enum SSLMode: String, Sendable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it, without certificate checks (libpq's default).
        case prefer
        /// TLS or fail, without certificate checks.
        case require
        /// TLS with the certificate and host name checked.
        case verifyFull = "verify-full"
    }

    /// The server host.
    public var host: String
    /// The server port (5432 unless given).
    public var port: Int
    /// The user name.
    public var user: String
    /// The password, if any.
    public var password: String?
    /// The database (the user name unless given).
    public var database: String
    /// The schema Sluice's tables live in (`public` unless given); several
    /// gateways that should not share state can use one database with different schemas.
    public var schema: String
    /// TLS use.
    public var sslMode: SSLMode
    /// Most pooled connections per node, at least 2: one is held by the change-notification listener.
    public var poolMax: Int
    /// The smallest `pool_max`: the listener holds one connection, queries need another.
    public static let minimumPoolMax = 2

    /// The URL with the password masked, for logs and errors.
    public var redacted: String {
        "postgres://\(user)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)"
            + (schema == "public" ? "" : "?schema=\(schema)")
    }

    /// ``redacted``.
    public var description: String { redacted }
    /// ``redacted``.
    public var debugDescription: String { redacted }
    /// Only ``redacted``, so `dump` and debuggers never show the password.
    public var customMirror: Mirror { Mirror(self, children: ["redacted": redacted], displayStyle: .struct) }

    /// The notification channel of this schema.
    var channel: String { schema == "public" ? "sluice_changes" : "sluice_changes_\(schema)" }

    /// Parses the URL or throws a message that names the part that is wrong.
    public static func parse(_ text: String) throws(StorageURLError) -> PostgresURL {
        func fail(_ why: String) -> StorageURLError {
            StorageURLError(message: "storage.url: \(why) (expected postgres://USER:PASS@HOST:PORT/DB)")
        }
        guard let c = URLComponents(string: text), c.scheme == "postgres" || c.scheme == "postgresql" else {
            throw fail("not a valid URL")
        }
        guard let host = c.host, !host.isEmpty else { throw fail("the host is missing") }
        guard let user = c.user, !user.isEmpty else { throw fail("the user is missing") }
        var db = c.path
        if db.hasPrefix("/") { db.removeFirst() }
        var url = PostgresURL(
            host: host, port: c.port ?? 5432, user: user.removingPercentEncoding ?? user,
            password: c.password.map { $0.removingPercentEncoding ?? $0 },
            database: db.isEmpty ? user : (db.removingPercentEncoding ?? db),
            schema: "public", sslMode: .prefer, poolMax: 20)
        for item in c.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "schema":
                let ok = !value.isEmpty && value.count <= 40 && value.first.map { $0 == "_" || ($0.isASCII && $0.isLowercase) } == true
                    && value.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLowercase || $0.isNumber)) }
                guard ok else { throw fail("schema must be lower-case letters, digits and _ (at most 40), got '\(value)'") }
                url.schema = value
            case "sslmode":
                guard let m = SSLMode(rawValue: value) else {
                    throw fail("sslmode must be one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", ")), got '\(value)'")
                }
                url.sslMode = m
            case "pool_max":
                guard let n = Int(value), (minimumPoolMax...1000).contains(n) else {
                    throw fail(
                        "pool_max must be \(minimumPoolMax)…1000 (one connection is held for change notifications), got '\(value)'")
                }
                url.poolMax = n
            default:
                throw fail("unknown parameter '\(item.name)'; known: schema, sslmode, pool_max")
            }
        }
        return url
    }
}
