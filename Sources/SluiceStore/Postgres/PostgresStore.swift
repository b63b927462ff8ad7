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

    /// `postgres`.
    public var backend: String { "postgres" }
    /// `LISTEN`/`NOTIFY` on the schema's channel.
    public var changes: any ChangeFeed { feed }

    /// Creates the pool and starts its background work; no connection is made until the first query.
    public init(url: PostgresURL, logger: Logger, statementTimeout: Duration = .seconds(10)) {
        self.url = url
        self.logger = logger
        self.statementTimeout = statementTimeout
        var config = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password, database: url.database,
            tls: Self.tls(url.sslMode))
        config.options.maximumConnections = url.poolMax
        config.options.connectTimeout = .seconds(5)
        config.options.keepAliveBehavior = .init(frequency: .seconds(15))
        if url.schema != "public" {
            config.options.additionalStartupParameters = [("search_path", url.schema)]
        }
        var background = logger
        background.logLevel = .critical
        let client = PostgresClient(configuration: config, backgroundLogger: background)
        self.client = client
        self.runner = Task { await client.run() }
        self.feed = PostgresChangeFeed(client: client, channel: url.channel, logger: logger)
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

    /// Creates the schema if needed and applies pending migrations, one node at a time.
    public func migrate() async throws {
        try await PostgresMigrations.run(on: self)
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
        } catch let e as PSQLError {
            throw PostgresStoreError(operation: operation, error: e)
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

/// A PostgreSQL error made readable without leaking bound values.
public struct PostgresStoreError: Error, Sendable, CustomStringConvertible {
    /// What the store was doing.
    public var operation: String
    /// The server's message, or the client-side failure.
    public var detail: String

    init(operation: String, error: PSQLError) {
        self.operation = operation
        if let message = error.serverInfo?[.message] {
            let code = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
            detail = message + code
        } else if let underlying = error.underlying {
            detail = "\(error.code): \(underlying)"
        } else {
            detail = "\(error.code)"
        }
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
