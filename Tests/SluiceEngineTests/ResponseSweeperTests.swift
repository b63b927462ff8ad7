import Foundation
import Logging
import ServiceLifecycle
import SluiceCore
@testable import SluiceEngine
import SluiceStore
import SluiceTesting
import Testing

/// `responses: { retention_days }` and the sweeper that deletes expired Responses API state.
@Suite struct ResponseSweeperTests {
    func errorText(_ yaml: String) -> String? {
        do {
            _ = try ConfigLoader.parse(yaml, environment: [:])
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func retentionDaysDefaultsTo30AndParses() throws {
        #expect(try ConfigLoader.parse("server: { port: 9000 }\n", environment: [:]).responses.retentionDays == 30)
        #expect(try ConfigLoader.load(path: nil, environment: [:]).responses == SluiceConfig.Responses())
        let c = try ConfigLoader.parse("responses: { retention_days: 7 }\n", environment: [:])
        #expect(c.responses.retentionDays == 7 && c.responses.retention == 7 * 86_400)
        let half = try ConfigLoader.parse("responses:\n  retention_days: 0.5\n", environment: [:])
        #expect(half.responses.retention == 43_200)
        let t = Date(timeIntervalSince1970: 1_000)
        #expect(c.responses.expiry(after: t) == t.addingTimeInterval(7 * 86_400))
        #expect(try ConfigLoader.parse("responses: {}\n", environment: [:]).responses.retentionDays == 30)
    }

    @Test(arguments: [
        ("responses: { retention_days: 0 }\n", "responses.retention_days (line 1): retention_days must be a positive number of days, got '0'"),
        ("responses: { retention_days: -3 }\n", "must be a positive number of days, got '-3'"),
        ("responses: { retention_days: forever }\n", "expected a number, got 'forever'"),
        ("responses: { retention_days: 100000 }\n", "at most 36500"),
        ("responses: { retention: 30 }\n", "unknown key 'retention'; expected one of: retention_days"),
    ])
    func badRetentionIsAnErrorNamingTheKey(_ yaml: String, _ expected: String) {
        let text = errorText(yaml)
        #expect(text?.contains(expected) == true, "\(text ?? "no error")")
    }

    /// A changed retention is reported as needing a restart (the sweeper reads it at start).
    @Test func changedRetentionNeedsARestart() throws {
        let old = try ConfigLoader.parse("responses: { retention_days: 30 }\n", environment: [:])
        let new = try ConfigLoader.parse("responses: { retention_days: 7 }\n", environment: [:])
        #expect(Gateway.restartSections(old, new) == ["responses"])
        #expect(Gateway.restartSections(old, old).isEmpty)
    }

    /// A response saved now expires `retention_days` later; sweeps before that keep it, the first after deletes it.
    @Test(arguments: StoreBackend.available)
    func sweepsDeleteWhatExpiredByTheClock(_ backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let store = try await fixture.open()
            let clock = ManualClock()
            let logs = LogCapture()
            let logger = Logger(label: "test-responses") { JSONLogHandler(label: $0, sink: .closure { logs.append($0) }) }
            var config = SluiceConfig.Responses()
            config.retentionDays = 1
            let sweeper = ResponseSweeper(store: store, config: config, clock: clock, logger: logger)
            #expect(sweeper.interval == .seconds(3_600))
            let now = clock.now()
            let a = StoredResponse(id: "resp_a", status: .completed, model: "m", createdAt: now, expiresAt: config.expiry(after: now))
            let b = StoredResponse(
                id: "resp_b", status: .completed, model: "m", createdAt: now, expiresAt: config.expiry(after: now.addingTimeInterval(3_600)))
            let forever = StoredResponse(id: "resp_kept", status: .completed, model: "m", createdAt: now)
            for r in [a, b, forever] { try await store.saveResponse(r) }

            #expect(await sweeper.sweep() == 0)
            clock.advance(86_400 - 1)
            #expect(await sweeper.sweep() == 0)
            clock.advance(2)
            #expect(await sweeper.sweep() == 1)
            #expect(try await store.response(a.id) == nil)
            #expect(try await store.response(b.id) == b)
            #expect(logs.text.contains("deleted expired responses") && logs.text.contains("\"responses\":\"1\""), "\(logs.text)")
            clock.advance(3_600)
            #expect(await sweeper.sweep() == 1)
            #expect(try await store.response(forever.id) == forever)
            try await store.close()
        }
    }

    /// Run as a service it sweeps at start and every interval, and stops at graceful shutdown.
    @Test func asAServiceItSweepsOnItsIntervalAndStops() async throws {
        try await StoreFixture.with(.sqlite) { fixture in
            let store = try await fixture.open()
            let clock = ManualClock()
            var logger = Logger(label: "test-responses")
            logger.logLevel = .error
            let sweeper = ResponseSweeper(store: store, config: .init(), clock: clock, logger: logger, interval: .milliseconds(20))
            let now = clock.now()
            try await store.saveResponse(
                StoredResponse(id: "resp_old", status: .completed, model: "m", createdAt: now, expiresAt: now.addingTimeInterval(-1)))
            try await store.saveResponse(
                StoredResponse(id: "resp_new", status: .completed, model: "m", createdAt: now, expiresAt: now.addingTimeInterval(60)))
            let group = ServiceGroup(configuration: .init(services: [sweeper], gracefulShutdownSignals: [], logger: logger))
            let running = Task { try await group.run() }
            #expect(try await Self.eventually { try await store.response("resp_old") == nil })
            #expect(try await store.response("resp_new") != nil)
            clock.advance(61)
            #expect(try await Self.eventually { try await store.response("resp_new") == nil })
            await group.triggerGracefulShutdown()
            try await running.value
            try await store.close()
        }
    }

    /// The gateway runs one, built from its config.
    @Test func theGatewayRunsASweeper() async throws {
        try await StoreFixture.with(.sqlite) { fixture in
            let store = try await fixture.open()
            var logger = Logger(label: "test-responses")
            logger.logLevel = .error
            let config = try ConfigLoader.parse("responses: { retention_days: 3 }\n", environment: [:])
            let gateway = Gateway(config: config, store: store, logger: logger)
            #expect(gateway.responseSweeper.config.retentionDays == 3)
            #expect(gateway.services.contains { $0 as? ResponseSweeper === gateway.responseSweeper })
            try await gateway.shutdown()
            try await store.close()
        }
    }

    /// Polls `condition` every 10 ms for up to `limit`.
    static func eventually(within limit: Duration = .seconds(5), _ condition: () async throws -> Bool) async rethrows -> Bool {
        let end = ContinuousClock.now + limit
        while ContinuousClock.now < end {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return try await condition()
    }
}
