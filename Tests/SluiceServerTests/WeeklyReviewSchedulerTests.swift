import Foundation
import Logging
import SluiceCore
import SluiceEngine
import SluiceStore
import SluiceTesting
import Testing

/// `review: {every, webhook}`: two gateways on one store post once per period; the store's
/// review queries and the period claim behave the same on SQLite and PostgreSQL.
@Suite struct WeeklyReviewSchedulerTests {
    static let now = WeeklyReviewTests.now

    @Test(arguments: StoreBackend.available)
    func twoNodesPostOncePerPeriod(_ backend: StoreBackend) async throws {
        let receiver = try await FakeUpstream.start()
        defer { Task { await receiver.stop() } }
        try await StoreFixture.with(backend) { fixture in
            let store = try await fixture.open()
            let seeded = try await WeeklyReviewTests.seed(store)
            let config = try ConfigLoader.parse("review: { every: 7d, webhook: \"http://127.0.0.1:\(receiver.port)/review\" }", environment: [:])
            // Just inside a period, so that moving on 7 days lands in the next one.
            let start = Date(timeIntervalSince1970: (Self.now.timeIntervalSince1970 / (7 * 86_400)).rounded(.down) * 7 * 86_400 + 60)
            let clock = ManualClock(start)
            let nodes = (0..<2).map { _ in Gateway(config: config, store: store, logger: Logger(label: "review-test"), clock: clock) }
            async let a = nodes[0].reviewScheduler.postDue()
            async let b = nodes[1].reviewScheduler.postDue()
            let claimed = await [a, b]
            #expect(claimed.filter { $0 }.count == 1, "\(claimed)")
            #expect(receiver.received.count == 1)
            for node in nodes { #expect(await node.reviewScheduler.postDue() == false) }
            clock.advance(86_400)
            for node in nodes { #expect(await node.reviewScheduler.postDue() == false) }
            #expect(receiver.received.count == 1)
            clock.advance(6 * 86_400)
            let next = await [nodes[1].reviewScheduler.postDue(), nodes[0].reviewScheduler.postDue()]
            #expect(next == [true, false])
            #expect(receiver.received.count == 2)

            let body = try #require(receiver.received.first?.json)
            let text = try #require(body["text"]?.stringValue)
            #expect(text.hasPrefix("# Sluice weekly review") && text.contains("## Top error patterns"))
            #expect(body["review"]?["object"] == "weekly_review")
            _ = seeded
            for node in nodes { try await node.shutdown() }
            try await store.close()
        }
    }

    @Test(arguments: StoreBackend.available)
    func storeQueriesReadTheWindow(_ backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let store = try await fixture.open()
            let seeded = try await WeeklyReviewTests.seed(store)
            let now = Self.now
            let week = try await store.failedCalls(from: now.addingTimeInterval(-7 * 86_400), to: now, limit: 100)
            #expect(week.count == 5 && week.filter { $0.httpStatus == 429 }.map(\.purpose) == ["summarize"])
            #expect(week.map(\.createdAt) == week.map(\.createdAt).sorted())
            #expect(Set(week.map(\.callID)).isSuperset(of: seeded.newErrors))
            #expect(week.allSatisfy { $0.provider == "openai" && $0.error != nil })
            #expect(try await store.failedCalls(from: now.addingTimeInterval(-7 * 86_400), to: now, limit: 2).count == 2)
            let negative = try await store.negativeFeedback(from: now.addingTimeInterval(-7 * 86_400), to: now, limit: 10)
            #expect(Set(negative.compactMap(\.callID)) == Set(seeded.flagged) && negative.allSatisfy { $0.score < 0 })
            #expect(try await store.negativeFeedback(from: now, to: now.addingTimeInterval(60), limit: 10).isEmpty)
            #expect(try await store.claimReviewPeriod(7, node: "a", at: now))
            #expect(try await store.claimReviewPeriod(7, node: "b", at: now) == false)
            #expect(try await store.claimReviewPeriod(8, node: "b", at: now))
            try await store.close()
        }
    }

    @Test func configParsesAndRejects() throws {
        let c = try ConfigLoader.parse("review: { every: 1d, webhook: \"https://hooks.example/x\", since: 7d }", environment: [:])
        #expect(c.review == SluiceConfig.Review(everySeconds: 86_400, webhook: "https://hooks.example/x", sinceSeconds: 7 * 86_400))
        #expect(throws: (any Error).self) { try ConfigLoader.parse("review: { every: soon }", environment: [:]) }
        #expect(throws: (any Error).self) { try ConfigLoader.parse("review: { webhook: ftp://x }", environment: [:]) }
        #expect(throws: (any Error).self) { try ConfigLoader.parse("review: { every: 7d, when: monday }", environment: [:]) }
    }

    @Test func errorMessagesAreNormalized() {
        let a = WeeklyReviewTests.newError
        #expect(WeeklyReview.errorPattern(a) == WeeklyReviewTests.pattern)
        #expect(WeeklyReview.errorPattern("GET https://api.example.com/v1/x?id=9 failed: \"bad key sk-123\" 550e8400-e29b-41d4-a716-446655440000 deadbeef42")
            == "GET <url> failed: \"…\" <id> <id>")
    }
}
