import Foundation
import SluiceCore
@testable import SluiceStore
import SluiceTesting
import Testing

/// Per-group latency percentiles from the call log (`latencyPercentiles`), on SQLite and PostgreSQL.
@Suite struct LatencySuite {
    /// A call by `user` with `key`, taking `ms`, created at `at`.
    static func call(_ i: Int, at: Date, user: String?, key: String? = "k", ms: Double, shadow: String? = nil) -> CallRecord {
        var r = LedgerSuite.call(i, at: at, cost: 0.001)
        (r.user, r.keyName, r.latencyMs, r.shadowOf) = (user, key, ms, shadow)
        return r
    }

    /// Exact nearest-rank p50/p95/p99 per user and per key equal a hand computation over the same
    /// latencies; failed and unpriced calls count, shadow runs and calls outside the window do not.
    @Test(arguments: StoreBackend.available)
    func percentilesAreNearestRankPerGroup(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            var records: [CallRecord] = []
            var want: [String?: [Double]] = [:]
            var wantKeys: [String?: [Double]] = [:]
            // alice: 1…100 ms; bob: 37 calls spread up to 2 s, one failed and unpriced; carol: one call; no user: 3 calls.
            for i in 0..<100 { records.append(Self.call(i, at: t, user: "alice", key: "web", ms: Double(100 - i))) }
            for i in 0..<37 {
                var r = Self.call(200 + i, at: t.addingTimeInterval(Double(i) / 1000), user: "bob", key: "batch", ms: Double((i * 53) % 37) * 55.5 + 0.25)
                if i == 3 { (r.status, r.costUSD) = (.error, nil) }
                records.append(r)
            }
            records.append(Self.call(300, at: t, user: "carol", key: nil, ms: 12.5))
            for i in 0..<3 { records.append(Self.call(310 + i, at: t, user: nil, key: "web", ms: Double(i + 1) * 1000)) }
            for r in records {
                want[r.user, default: []].append(r.latencyMs)
                wantKeys[r.keyName, default: []].append(r.latencyMs)
            }
            // Not counted: a shadow run of alice's, and a call of bob's before the window.
            records.append(Self.call(400, at: t, user: "alice", key: "web", ms: 999_999, shadow: records[0].callID))
            records.append(Self.call(401, at: t.addingTimeInterval(-10), user: "bob", key: "batch", ms: 888_888))
            try await store.insert(records.shuffled())

            let to = t.addingTimeInterval(1)
            for (dimension, expected) in [(LedgerDimension.user, want), (.key, wantKeys)] {
                let got = try await store.latencyPercentiles(from: t, to: to, by: dimension)
                #expect(got.count == expected.count, "\(dimension) \(got)")
                for (group, latencies) in expected {
                    let g = got.first { $0.group == group }
                    #expect(g == GroupLatency.of(latencies, group: group), "\(dimension) \(group ?? "nil")")
                }
            }
            let users = try await store.latencyPercentiles(from: t, to: to, by: .user)
            let alice = try #require(users.first { $0.group == "alice" })
            #expect(alice.calls == 100 && alice.p50Ms == 50 && alice.p95Ms == 95 && alice.p99Ms == 99)
            let carol = try #require(users.first { $0.group == "carol" })
            #expect(carol.calls == 1 && carol.p50Ms == 12.5 && carol.p99Ms == 12.5)
            let bob = try #require(users.first { $0.group == "bob" })
            #expect(bob.calls == 37 && bob.p50Ms <= bob.p95Ms && bob.p95Ms <= bob.p99Ms && bob.p99Ms < 2_100)

            // By purpose, model, provider and run too (the same statement on another column).
            for d in [LedgerDimension.purpose, .model, .provider, .run] {
                let got = try await store.latencyPercentiles(from: t, to: to, by: d)
                #expect(got.reduce(0) { $0 + $1.calls } == records.count - 2, "\(d)")
            }
            // An empty window has no groups.
            #expect(try await store.latencyPercentiles(from: to, to: to.addingTimeInterval(60), by: .user).isEmpty)
        }
    }

    /// The hand rule itself: ⌈p·n/100⌉.
    @Test func nearestRank() {
        #expect(GroupLatency.rank(50, of: 1) == 1 && GroupLatency.rank(99, of: 1) == 1)
        #expect(GroupLatency.rank(50, of: 4) == 2 && GroupLatency.rank(95, of: 4) == 4)
        #expect(GroupLatency.rank(95, of: 20) == 19 && GroupLatency.rank(99, of: 100) == 99 && GroupLatency.rank(99, of: 101) == 100)
        #expect(GroupLatency.of([], group: nil) == nil)
        #expect(GroupLatency.of([3, 1, 2, 4], group: "u") == GroupLatency(group: "u", calls: 4, p50Ms: 2, p95Ms: 4, p99Ms: 4))
    }
}
