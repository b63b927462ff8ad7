import Foundation
import Logging
import PostgresNIO
@testable import SluiceStore
import SluiceTesting
import Testing

/// PostgreSQL-only behaviour, against the real test server.
@Suite struct PostgresStoreTests {
    static var enabled: Bool { StoreBackend.postgresURL != nil }

    /// The test server's URL with some parts replaced.
    static func url(password: String? = nil, database: String? = nil, port: Int? = nil, query: String? = nil) throws -> PostgresURL {
        let base = try #require(StoreBackend.postgresURL)
        var c = try #require(URLComponents(string: base))
        if let password { c.password = password }
        if let database { c.path = "/" + database }
        if let port { c.port = port }
        if let query { c.query = query }
        return try PostgresURL.parse(try #require(c.string))
    }

    static var quiet: Logger {
        var l = Logger(label: "test-store")
        l.logLevel = .critical
        return l
    }

    /// A client on `fixture` with extra URL parameters.
    static func open(_ fixture: StoreFixture, _ extra: String = "", statementTimeout: Duration = .seconds(10)) async throws -> PostgresStore {
        let store = PostgresStore(url: try PostgresURL.parse(fixture.storageURL + extra), logger: quiet, statementTimeout: statementTimeout)
        try await store.migrate()
        return store
    }

    /// Runs `body` and returns the error it throws and how long it took.
    static func failure(_ body: () async throws -> Void) async -> (error: (any Error)?, elapsed: Duration) {
        let start = ContinuousClock.now
        do {
            try await body()
            return (nil, ContinuousClock.now - start)
        } catch {
            return (error, ContinuousClock.now - start)
        }
    }

    @Test(.enabled(if: enabled)) func aWrongPasswordFailsFastAndSaysSo() async throws {
        let secret = "wrong-Pa55word-xyz"
        let store = PostgresStore(url: try Self.url(password: secret), logger: Self.quiet)
        let (error, elapsed) = await Self.failure { try await store.migrate() }
        try await store.close()
        let e = try #require(error as? PostgresStoreError, "\(String(describing: error))")
        #expect(e.kind == .authentication && e.kind.isPermanent)
        #expect(e.description.contains("password authentication failed"), "\(e)")
        #expect(e.description.contains("storage.url"), "\(e)")
        #expect(!e.description.contains(secret))
        #expect(elapsed < .seconds(5))
    }

    @Test(.enabled(if: enabled)) func aMissingDatabaseFailsFastAndSaysSo() async throws {
        let store = PostgresStore(url: try Self.url(database: "no_such_db_q7"), logger: Self.quiet)
        let (error, elapsed) = await Self.failure { try await store.migrate() }
        try await store.close()
        let e = try #require(error as? PostgresStoreError, "\(String(describing: error))")
        #expect(e.kind == .missingDatabase && e.kind.isPermanent)
        #expect(e.description.contains("\"no_such_db_q7\" does not exist"), "\(e)")
        #expect(e.description.contains("createdb"), "\(e)")
        #expect(!e.description.contains("sluice-test"))
        #expect(elapsed < .seconds(5))
    }

    @Test(.enabled(if: enabled)) func aRefusedConnectionFailsFastAndIsWorthRetrying() async throws {
        // Port 1 on loopback: nothing listens there.
        let store = PostgresStore(url: try Self.url(port: 1), logger: Self.quiet)
        let (error, elapsed) = await Self.failure { try await store.migrate() }
        try await store.close()
        let e = try #require(error as? PostgresStoreError, "\(String(describing: error))")
        #expect(e.kind == .unavailable && !e.kind.isPermanent)
        #expect(e.description.contains("127.0.0.1:1 refused"), "\(e)")
        #expect(elapsed < .seconds(5))
    }

    /// A statement the client gave up on is ended by the server (`statement_timeout`), so its
    /// pooled connection comes back: with both connections of the pool hung, the store answers
    /// again within seconds.
    @Test(.enabled(if: enabled)) func timedOutStatementsGiveTheirConnectionsBack() async throws {
        try await StoreFixture.with(.postgres) { fixture in
            let store = try await Self.open(fixture, "&pool_max=2", statementTimeout: .seconds(1))
            let hung = await withTaskGroup(of: (any Error)?.self) { group in
                for _ in 0..<2 {
                    group.addTask { await Self.failure { _ = try await store.rows("sleep", "SELECT pg_sleep(60)") }.error }
                }
                return await group.reduce(into: [(any Error)?]()) { $0.append($1) }
            }
            #expect(hung.allSatisfy { $0 is StoreTimeout }, "\(hung)")
            var answered = false
            for _ in 0..<20 where !answered {
                answered = (try? await store.count()) != nil
                if !answered { try await Task.sleep(for: .milliseconds(250)) }
            }
            #expect(answered, "the pool's connections are still busy with statements the client gave up on")
            try await store.close()
        }
    }

    /// Errors inside a transaction (postgres-nio wraps them) and from a closed pool read plainly,
    /// without SQL text or bound values.
    @Test(.enabled(if: enabled)) func transactionAndPoolErrorsAreReadable() async throws {
        try await StoreFixture.with(.postgres) { fixture in
            let store = try await Self.open(fixture)
            let logger = Self.quiet
            let missing = await Self.failure {
                try await store.run("test transaction") { client in
                    try await client.withTransaction(logger: logger) { conn in
                        _ = try await conn.query("SELECT * FROM no_such_table_q7", logger: logger)
                    }
                }
            }
            let e1 = try #require(missing.error as? PostgresStoreError, "\(String(describing: missing.error))")
            #expect(e1.description == #"PostgreSQL test transaction failed: relation "no_such_table_q7" does not exist (SQLSTATE 42P01)"#)
            let badValue = await Self.failure {
                try await store.run("test transaction") { client in
                    try await client.withTransaction(logger: logger) { conn in
                        _ = try await conn.query("SELECT \("secret-value-q7")::BIGINT", logger: logger)
                    }
                }
            }
            let e2 = try #require(badValue.error as? PostgresStoreError, "\(String(describing: badValue.error))")
            #expect(e2.detail.contains("SQLSTATE 22P02"), "\(e2)")
            #expect(!e2.description.contains("secret-value-q7") && !e2.description.contains("SELECT"), "\(e2)")
            // A real transaction of the store: upsertKeys on a closed store.
            try await store.close()
            let closed = await Self.failure { try await store.upsertKeys([StoredKey(name: "a", keyHash: "h", purposes: [])]) }
            let e3 = try #require(closed.error as? PostgresStoreError, "\(String(describing: closed.error))")
            #expect(e3.kind == .closed, "\(e3)")
            #expect(e3.description.contains("upsert keys") && e3.description.contains("shut down"), "\(e3)")
        }
    }

    /// With every migration applied, start-up creates nothing: a role that may use the tables
    /// but not create anything can start.
    @Test(.enabled(if: enabled)) func aRoleWithoutCreateCanStartOnAMigratedSchema() async throws {
        try await StoreFixture.with(.postgres) { fixture in
            let owner = try await Self.open(fixture)
            let schema = owner.url.schema
            let role = "sluice_user_\(schema)"
            _ = try await owner.rows("create role", "CREATE ROLE \(role) LOGIN PASSWORD 'user-pw-q7'")
            _ = try await owner.rows("grant", "GRANT USAGE ON SCHEMA \(schema) TO \(role)")
            _ = try await owner.rows("grant", "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA \(schema) TO \(role)")
            var c = try #require(URLComponents(string: fixture.storageURL))
            c.user = role
            c.password = "user-pw-q7"
            let user = PostgresStore(url: try PostgresURL.parse(try #require(c.string)), logger: Self.quiet)
            let started = await Self.failure { try await user.migrate() }
            #expect(started.error == nil, "\(String(describing: started.error))")
            if started.error == nil {
                try await user.insert([record(1)])
                #expect(try await user.count() == 1)
            }
            try await user.close()
            _ = try await owner.rows("drop role", "DROP OWNED BY \(role)")
            _ = try await owner.rows("drop role", "DROP ROLE \(role)")
            try await owner.close()
        }
    }

    /// A listening connection whose server stops answering (a half-open connection: the
    /// backend is frozen with SIGSTOP) is noticed by the liveness check, replaced, and
    /// subscribers get `.resync`; changes then flow again within a second.
    @Test(.enabled(if: enabled)) func aFrozenListenerIsReplacedAndSubscribersResync() async throws {
        try await StoreFixture.with(.postgres) { fixture in
            let a = try await Self.open(fixture)
            let b = try await Self.open(fixture)
            let stream = await b.changes.subscribe()
            let pid = try #require(b.feed.listenerBackendPID)
            // Signalling the server's process needs its user or root; elsewhere this test has nothing to show.
            guard kill(pid_t(pid), SIGSTOP) == 0 else {
                try await a.close()
                try await b.close()
                return
            }
            var resumed = false
            defer { if !resumed { kill(pid_t(pid), SIGCONT) } }
            let frozenAt = ContinuousClock.now
            let first = await nextEvent(stream, within: .seconds(15))
            #expect(first == .resync)
            #expect(ContinuousClock.now - frozenAt < .seconds(12))
            kill(pid_t(pid), SIGCONT)
            resumed = true
            #expect(b.changes.isListening)
            #expect(b.feed.listenerBackendPID != pid)
            try await a.changes.publish(Change(topic: "flags", payload: "after"))
            #expect(await nextEvent(stream, within: .seconds(1)) == .change(Change(topic: "flags", payload: "after")))
            try await a.close()
            try await b.close()
        }
    }

    /// A subscriber that stopped waiting for the listener (no connection was free) gets
    /// `.resync` once it listens, and again when the listening connection is lost and replaced.
    @Test(.enabled(if: enabled)) func subscribersResyncWhenTheListenerStartsLateOrComesBack() async throws {
        try await StoreFixture.with(.postgres) { fixture in
            // Both connections of the pool busy for 5 s (until the server's statement_timeout
            // ends the statements): the listener cannot start while subscribe() waits.
            let store = try await Self.open(fixture, "&pool_max=2", statementTimeout: .seconds(4))
            let hogs = (0..<2).map { _ in Task { _ = try? await store.rows("sleep", "SELECT pg_sleep(60)") } }
            try await Task.sleep(for: .milliseconds(300))
            let stream = await store.changes.subscribe()
            #expect(!store.changes.isListening)
            #expect(await nextEvent(stream, within: .seconds(10)) == .resync)
            #expect(store.changes.isListening)
            try await store.changes.publish(Change(topic: "t", payload: "1"))
            #expect(await nextEvent(stream, within: .seconds(1)) == .change(Change(topic: "t", payload: "1")))
            // The server ends the listening connection: the listener comes back and says so.
            let pid = try #require(store.feed.listenerBackendPID)
            _ = try await store.rows("terminate", "SELECT pg_terminate_backend(\(pid))")
            #expect(await nextEvent(stream, within: .seconds(10)) == .resync)
            #expect(store.feed.listenerBackendPID != pid)
            for h in hogs { await h.value }
            try await store.close()
        }
    }
}

/// The next event of `stream`, or `nil` after `limit` (the stream is finished then).
func nextEvent(_ stream: AsyncStream<ChangeEvent>, within limit: Duration) async -> ChangeEvent? {
    await withTaskGroup(of: ChangeEvent?.self) { group in
        group.addTask {
            var iterator = stream.makeAsyncIterator()
            return await iterator.next()
        }
        group.addTask {
            try? await Task.sleep(for: limit)
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
}
