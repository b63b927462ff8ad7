import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

@Suite struct AlertTests {
    func record(_ id: Int, purpose: String, at: Date, cost: Double) -> CallRecord {
        var r = CallRecord(callID: IDs.callID(at: at) + "-\(id)", createdAt: at, purpose: purpose, model: "fast")
        r.costUSD = cost
        r.usage = Usage(inputTokens: 100, outputTokens: 10)
        return r
    }

    @Test func aSpendSpikeFiresOneWebhookPerDay() async throws {
        let receiver = try await FakeUpstream.start()
        defer { Task { await receiver.stop() } }
        let now = Date(timeIntervalSince1970: 1_795_000_000)  // 2026-11-18 06:13 UTC
        let clock = ManualClock(now)
        let yaml = """
            alerts:
              webhook: "http://127.0.0.1:\(receiver.port)/hooks/sluice"
              rules:
                - { metric: spend_vs_30d_avg, purpose: "*", above: 3.0 }
                - { metric: daily_spend_usd, above: 50 }
            """
        try await Harness.with(yaml, clock: clock) { h in
            // 30 days of $1 a day for "spiky" and "steady", then today $4 for "spiky" and $1 for "steady".
            var seeded: [CallRecord] = []
            let today = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)
            for day in 1...30 {
                let at = today.addingTimeInterval(Double(-day) * 86_400 + 3600)
                seeded.append(record(day, purpose: "spiky", at: at, cost: 1))
                seeded.append(record(100 + day, purpose: "steady", at: at, cost: 1))
            }
            for i in 0..<4 { seeded.append(record(200 + i, purpose: "spiky", at: today.addingTimeInterval(60 + Double(i)), cost: 1)) }
            seeded.append(record(300, purpose: "steady", at: today.addingTimeInterval(120), cost: 1))
            try await h.gateway.store.insert(seeded)

            let fired = try await h.gateway.alerts.evaluate()
            #expect(fired.map(\.scope) == ["spiky"], "\(fired)")
            #expect(receiver.received.count == 1)
            let hook = try #require(receiver.received.first)
            #expect(hook.path == "/hooks/sluice")
            let text = hook.json?["text"]?.stringValue ?? ""
            #expect(text.contains("purpose 'spiky'"), "\(text)")
            #expect(text.contains("4×"), "\(text)")
            #expect(hook.json?["alert"]?["metric"] == "spend_vs_30d_avg")

            // Still spiking a few minutes later: no second alert in the same window (the UTC day).
            clock.advance(300)
            #expect(try await h.gateway.alerts.evaluate().isEmpty)
            #expect(receiver.received.count == 1)
            let audit = try await h.gateway.store.audit(limit: 10, before: nil)
            #expect(audit.first { $0.action == "alert" }?.newValue == "delivered")

            // The next day the window opens again.
            clock.advance(86_400)
            try await h.gateway.store.insert((0..<5).map { record(400 + $0, purpose: "spiky", at: clock.now().addingTimeInterval(-10), cost: 1) })
            #expect(try await h.gateway.alerts.evaluate().map(\.scope) == ["spiky"])
            #expect(receiver.received.count == 2)
        }
    }
}
