import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

@Suite struct DriftSuite {
    /// Call stats come back newest first within `[from, to)` for the purpose, with every field;
    /// feedback scores join to the calls of the purpose in the window.
    @Test(arguments: StoreBackend.available)
    func callStatsAndFeedbackScores(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow(-3600)
            var rows: [CallRecord] = []
            for i in 0..<6 {
                var r = record(i, purpose: i < 5 ? "triage" : "other", at: t.addingTimeInterval(Double(i) * 60))
                r.answeredModel = i % 2 == 0 ? "m-1" : nil
                r.schemaValid = i == 0 ? nil : i % 2 == 0
                r.refusal = i == 3
                r.latencyMs = 100 + Double(i)
                r.httpStatus = i == 4 ? 502 : 200
                r.status = i == 4 ? .error : .ok
                rows.append(r)
            }
            try await store.insert(rows)
            let stats = try await store.callStats(purpose: "triage", from: t.addingTimeInterval(60), to: t.addingTimeInterval(240), limit: 100)
            #expect(stats.map(\.at) == [3, 2, 1].map { t.addingTimeInterval(Double($0) * 60) })
            let third = try #require(stats.first)
            #expect(third.answeredModel == nil && third.schemaValid == false && third.refusal == true && third.outputTokens == 6)
            #expect(third.latencyMs == 103 && third.status == "ok" && third.httpStatus == 200)
            #expect(stats[1].answeredModel == "m-1" && stats[1].schemaValid == true && stats[1].refusal == false)
            #expect(try await store.callStats(purpose: "triage", from: t, to: t.addingTimeInterval(3600), limit: 2).count == 2)
            let failed = try await store.callStats(purpose: "triage", from: t.addingTimeInterval(240), to: t.addingTimeInterval(300), limit: 9)
            #expect(failed.first?.status == "error" && failed.first?.httpStatus == 502)

            for (i, score) in [(1, 1.0), (2, -0.5), (5, 0.25)] {
                try await store.addFeedback(Feedback(
                    id: "fb_\(i)", callID: rows[i].callID, taskID: nil, purpose: rows[i].purpose, score: score, label: nil, comment: nil,
                    action: nil, keyName: nil, createdAt: t))
            }
            let scores = try await store.feedbackScores(purpose: "triage", from: t, to: t.addingTimeInterval(3600))
            #expect(scores.sorted() == [-0.5, 1.0])
            #expect(try await store.feedbackScores(purpose: "triage", from: t.addingTimeInterval(90), to: t.addingTimeInterval(3600)) == [-0.5])
        }
    }
}
