import Foundation
import Logging
import PostgresNIO

/// The scale-out backend: several `sluice serve` processes on one PostgreSQL
/// database share the call log, keys, quota pools, the work queue and change
/// notification. Connections come from a postgres-nio `PostgresClient` pool.
///
/// ```swift
/// let store = try PostgresStore(url: PostgresURL.parse("postgres://sluice@127.0.0.1/sluice"), logger: logger)
/// try await store.migrate()
/// ```
public final class PostgresStore: SluiceStore {
    let client: PostgresClient
    let runner: Task<Void, Never>
    let feed: PostgresChangeFeed
    let logger: Logger
    /// Where it connects (the password is never logged: see ``PostgresURL/redacted``).
    public let url: PostgresURL
    /// How long one statement may take before the store reports it unavailable.
    let statementTimeout: Duration
    /// Seals stored request and response bodies (`storage.encryption_key`); `nil` stores them as plaintext.
    public let cipher: BodyCipher?

    /// `postgres`.
    public var backend: String { "postgres" }
    /// `LISTEN`/`NOTIFY` on the schema's channel.
    public var changes: any ChangeFeed { feed }

    /// Creates the pool and starts its background work; no connection is made until the first query.
    ///
    /// Every connection starts with `search_path` set to the schema and with a server-side
    /// `statement_timeout` one second longer than `statementTimeout`: postgres-nio does not stop a
    /// query when its task is cancelled, so without it a hung statement would keep its pooled connection busy.
    /// With a `cipher`, stored request and response bodies are encrypted (see ``BodyCipher``).
    public init(url: PostgresURL, logger: Logger, statementTimeout: Duration = .seconds(10), cipher: BodyCipher? = nil) {
        self.url = url
        self.cipher = cipher
        self.logger = logger
        self.statementTimeout = statementTimeout
        var config = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password, database: url.database,
            tls: Self.tls(url.sslMode))
        config.options.maximumConnections = url.poolMax
        config.options.connectTimeout = .seconds(5)
        config.options.keepAliveBehavior = .init(frequency: .seconds(15))
        config.options.additionalStartupParameters = Self.startupParameters(url: url, statementTimeout: statementTimeout)
        var background = logger
        background.logLevel = .critical
        let client = PostgresClient(configuration: config, backgroundLogger: background)
        self.client = client
        self.runner = Task { await client.run() }
        self.feed = PostgresChangeFeed(client: client, channel: url.channel, logger: logger)
    }

    /// `search_path` (always, so unqualified names resolve to the schema whatever the role's default)
    /// and the server-side `statement_timeout`, in milliseconds.
    static func startupParameters(url: PostgresURL, statementTimeout: Duration) -> [(String, String)] {
        [("search_path", url.schema), ("statement_timeout", "\(serverTimeoutMillis(statementTimeout))")]
    }

    /// The server's limit for one statement: the client's limit plus one second, so the client
    /// reports the timeout first and the server then ends the statement and frees the connection.
    static func serverTimeoutMillis(_ limit: Duration) -> Int64 {
        let c = (limit + .seconds(1)).components
        return c.seconds * 1000 + c.attoseconds / 1_000_000_000_000_000
    }

    static func tls(_ mode: PostgresURL.SSLMode) -> PostgresClient.Configuration.TLS {
        var lax = TLSConfiguration.makeClientConfiguration()
        lax.certificateVerification = .none
        switch mode {
        case .disable: return .disable
        case .prefer: return .prefer(lax)
        case .require: return .require(lax)
        case .verifyFull: return .require(.makeClientConfiguration())
        }
    }

    /// Checks that the server can be reached and accepts the credentials, then creates the schema
    /// if needed and applies pending migrations, one node at a time. A wrong password, a missing
    /// database or a refused connection fails within seconds with a ``PostgresStoreError`` that says so.
    public func migrate() async throws {
        try await checkConnection()
        try await PostgresMigrations.run(on: self)
    }

    /// Opens one connection outside the pool and closes it again. The pool retries failed
    /// connections quietly in the background; this probe reports the first failure at once, in
    /// plain words (never with the password): see ``PostgresStoreError/Kind``.
    public func checkConnection() async throws {
        let url = self.url
        var config = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password, database: url.database,
            tls: .disable)
        do {
            config.tls = try Self.connectionTLS(url.sslMode)
        } catch {
            throw PostgresStoreError(operation: "connect", kind: .other, detail: "cannot set up TLS: \(error)")
        }
        config.options.connectTimeout = .seconds(5)
        config.options.additionalStartupParameters = Self.startupParameters(url: url, statementTimeout: statementTimeout)
        var quiet = logger
        quiet.logLevel = .critical
        let logger = quiet
        let configuration = config
        do {
            let connection = try await withStoreTimeout(.seconds(10), "PostgreSQL connect to \(url.host):\(url.port)") {
                try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            }
            try? await connection.close()
        } catch {
            throw PostgresStoreError.connecting(url, error)
        }
    }

    static func connectionTLS(_ mode: PostgresURL.SSLMode) throws -> PostgresConnection.Configuration.TLS {
        var lax = TLSConfiguration.makeClientConfiguration()
        lax.certificateVerification = .none
        switch mode {
        case .disable: return .disable
        case .prefer: return .prefer(try NIOSSLContext(configuration: lax))
        case .require: return .require(try NIOSSLContext(configuration: lax))
        case .verifyFull: return .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
    }

    /// `SELECT 1` within two seconds.
    public func ping() async throws {
        try await run("ping", timeout: .seconds(2)) { c in _ = try await c.query("SELECT 1") }
    }

    /// Stops the notification listener and closes every connection.
    public func close() async throws {
        await feed.stop()
        runner.cancel()
        await runner.value
    }

    /// Runs `body` with the client under the statement timeout; errors are made readable.
    func run<T: Sendable>(
        _ operation: String, timeout: Duration? = nil, _ body: @escaping @Sendable (PostgresClient) async throws -> T
    ) async throws -> T {
        let client = self.client
        do {
            return try await withStoreTimeout(timeout ?? statementTimeout, "PostgreSQL \(operation)") {
                try await body(client)
            }
        } catch {
            throw PostgresStoreError.readable(error, operation: operation)
        }
    }

    /// A query from SQL text with `$n` placeholders and cell values.
    static func query(_ sql: String, _ values: [Cell]) -> PostgresQuery {
        var b = PostgresBindings(capacity: values.count)
        for v in values {
            switch v {
            case .null: b.appendNull()
            case .int(let x): b.append(x)
            case .double(let x): b.append(x)
            case .text(let x): b.append(x)
            }
        }
        return PostgresQuery(unsafeSQL: sql, binds: b)
    }

    /// Runs a statement and collects its rows (small results only).
    func rows(_ operation: String, _ sql: String, _ values: [Cell] = []) async throws -> [PostgresRow] {
        let q = Self.query(sql, values)
        return try await run(operation) { c in
            var out: [PostgresRow] = []
            for try await row in try await c.query(q) { out.append(row) }
            return out
        }
    }
}

/// A PostgreSQL error made readable. It never holds SQL text, bound values or the password.
public struct PostgresStoreError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, for deciding whether to retry.
    public enum Kind: String, Sendable {
        /// The server rejected the user or password (SQLSTATE 28P01, 28000).
        case authentication
        /// The database does not exist (SQLSTATE 3D000).
        case missingDatabase
        /// The role lacks a privilege (SQLSTATE 42501).
        case permission
        /// The server could not be reached or did not answer (refused, timed out, connection lost).
        case unavailable
        /// The store's connection pool is shut down (the store was closed).
        case closed
        /// Anything else (a server error on a statement, a TLS failure…).
        case other

        /// True when retrying cannot help until the configuration or the database is changed.
        public var isPermanent: Bool { self == .authentication || self == .missingDatabase || self == .permission }
    }

    /// What the store was doing.
    public var operation: String
    /// Why it failed.
    public var kind: Kind
    /// The server's message, or the client-side failure.
    public var detail: String

    /// An error with these parts.
    public init(operation: String, kind: Kind, detail: String) {
        self.operation = operation
        self.kind = kind
        self.detail = detail
    }

    init(operation: String, error: PSQLError) {
        self.operation = operation
        self.kind = .other
        if let message = error.serverInfo?[.message] {
            let state = error.serverInfo?[.sqlState] ?? ""
            kind = Self.kind(sqlState: state)
            // Data exceptions (class 22) may quote the offending value: keep only the code.
            let text = state.hasPrefix("22") ? "a value was rejected" : message
            detail = text + (state.isEmpty ? "" : " (SQLSTATE \(state))")
        } else {
            switch error.code {
            case .poolClosed:
                kind = .closed
                detail = "the connection pool is shut down (the store was closed)"
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
                kind = .unavailable
                detail = error.underlying.map { "\(error.code): \(Self.describe($0))" } ?? "\(error.code)"
            default:
                detail = error.underlying.map { "\(error.code): \(Self.describe($0))" } ?? "\(error.code)"
            }
        }
    }

    static func kind(sqlState: String) -> Kind {
        switch sqlState {
        case "28P01", "28000": .authentication
        case "3D000": .missingDatabase
        case "42501": .permission
        case "57P01", "57P02", "57P03", "53300": .unavailable
        default: sqlState.hasPrefix("08") ? .unavailable : .other
        }
    }

    /// `PostgresStoreError`, `StoreTimeout` or `CancellationError` for any error a store operation throws:
    /// PostgreSQL errors, transaction wrappers and connection-pool errors are made readable.
    static func readable(_ error: any Error, operation: String) -> any Error {
        switch error {
        case is PostgresStoreError, is StoreTimeout, is CancellationError:
            return error
        case let e as PSQLError:
            return PostgresStoreError(operation: operation, error: e)
        case let e as PostgresTransactionError:
            // The first failure is the cause; a failed rollback after it is secondary.
            if let cause = e.beginError ?? e.closureError ?? e.commitError {
                var mapped = readable(cause, operation: operation)
                if let rollback = e.rollbackError, var m = mapped as? PostgresStoreError {
                    m.detail += "; the rollback failed too: \((readable(rollback, operation: operation) as? PostgresStoreError)?.detail ?? "\(type(of: rollback))")"
                    mapped = m
                }
                return mapped
            }
            if let rollback = e.rollbackError { return readable(rollback, operation: operation) }
            return PostgresStoreError(operation: operation, kind: .other, detail: "the transaction failed")
        default:
            // postgres-nio's ConnectionPoolError lives in a module Sluice does not import; match it by name.
            let typeName = String(describing: type(of: error))
            if typeName == "ConnectionPoolError" {
                let text = "\(error)"
                if text.contains("poolShutdown") {
                    return PostgresStoreError(
                        operation: operation, kind: .closed, detail: "the connection pool is shut down (the store was closed)")
                }
                if text.contains("CircuitBreaker") {
                    return PostgresStoreError(
                        operation: operation, kind: .unavailable,
                        detail: "no connection could be made for a long time (the server is down, unreachable or refusing the credentials)")
                }
                if text.contains("requestCancelled") {
                    return PostgresStoreError(operation: operation, kind: .other, detail: "the wait for a connection was cancelled")
                }
                return PostgresStoreError(operation: operation, kind: .other, detail: "connection pool error")
            }
            return error
        }
    }

    /// A connection failure made actionable: what is wrong and what to change.
    static func connecting(_ url: PostgresURL, _ error: any Error) -> PostgresStoreError {
        let at = "\(url.host):\(url.port)"
        func make(_ kind: Kind, _ detail: String) -> PostgresStoreError {
            PostgresStoreError(operation: "connect", kind: kind, detail: detail)
        }
        if let timeout = error as? StoreTimeout {
            return make(.unavailable, "no answer from \(at) within \(timeout.limit) (is the host reachable and the port right?)")
        }
        guard let e = error as? PSQLError else { return make(.other, Self.describe(error)) }
        if let message = e.serverInfo?[.message] {
            let state = e.serverInfo?[.sqlState] ?? ""
            switch state {
            case "28P01":
                return make(.authentication, "\(message): check the user and password in storage.url (SQLSTATE 28P01)")
            case "28000":
                return make(
                    .authentication,
                    "\(message): the server does not accept user '\(url.user)' from here; check the user in storage.url and the server's pg_hba.conf (SQLSTATE 28000)")
            case "3D000":
                return make(
                    .missingDatabase,
                    "\(message): create it (createdb --owner \(url.user) \(url.database)) or fix the database name in storage.url (SQLSTATE 3D000)")
            case "42501":
                return make(
                    .permission,
                    "\(message): grant the role access (GRANT CONNECT ON DATABASE \(url.database) TO \(url.user)) (SQLSTATE 42501)")
            default:
                return make(kind(sqlState: state), "\(message) (SQLSTATE \(state))")
            }
        }
        switch e.code {
        case .sslUnsupported:
            return make(.other, "the server at \(at) does not offer TLS, but sslmode=\(url.sslMode.rawValue) requires it")
        case .authMechanismRequiresPassword:
            return make(.authentication, "the server wants a password for user '\(url.user)' and storage.url has none")
        case .unsupportedAuthMechanism, .saslError:
            return make(.authentication, "authentication for user '\(url.user)' failed (\(e.code))")
        case .connectionError:
            let cause = e.underlying.map(Self.describe) ?? "connection failed"
            if cause.localizedCaseInsensitiveContains("refused") {
                return make(.unavailable, "connection to \(at) refused (is PostgreSQL running and listening on that address and port?)")
            }
            return make(.unavailable, "cannot connect to \(at): \(cause)")
        case .serverClosedConnection, .uncleanShutdown:
            return make(.unavailable, "the server at \(at) closed the connection during start-up (is it starting or shutting down?)")
        default:
            return make(.other, e.underlying.map { "\(e.code): \(Self.describe($0))" } ?? "\(e.code)")
        }
    }

    /// A short text for a client-side error (NIO connection errors list every address tried).
    static func describe(_ error: any Error) -> String {
        if let e = error as? NIOConnectionError {
            let causes = e.connectionErrors.map { "\($0.target): \($0.error)" }
            if !causes.isEmpty { return causes.joined(separator: "; ") }
            if let dns = e.dnsAError ?? e.dnsAAAAError { return "cannot resolve \(e.host): \(dns)" }
            return "cannot connect to \(e.host):\(e.port)"
        }
        if let e = error as? ChannelError, case .connectTimeout(let t) = e {
            return "connect timed out after \(t.nanoseconds / 1_000_000) ms"
        }
        return "\(error)"
    }

    /// `PostgreSQL OPERATION failed: DETAIL`.
    public var description: String { "PostgreSQL \(operation) failed: \(detail)" }
}

extension PostgresStore {
    /// Drops this store's schema and everything in it; for test teardown. Refuses `public`.
    public func dropSchema() async throws {
        guard url.schema != "public" else { throw StorageURLError(message: "refusing to drop the public schema") }
        let sql = #"DROP SCHEMA IF EXISTS "\#(url.schema)" CASCADE"#
        _ = try await rows("drop schema", sql)
    }
}
