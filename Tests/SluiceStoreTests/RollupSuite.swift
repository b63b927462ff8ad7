import Foundation
import GRDB
import PostgresNIO
import SluiceCore
@testable import SluiceStore
import SluiceTesting
import Testing

/// Hourly rollups equal a count over the calls they summarise, on both backends, whatever
/// order the calls are written, replaced or migrated in.
@Suite struct RollupSuite {
    /// The start of an hour two days ago: the test calls fill the hours after it.
    static let baseHour = Date(timeIntervalSince1970: ((Date().timeIntervalSince1970 / 3600).rounded(.down) - 48) * 3600)

    /// A call with every rollup input varied by `i`: purpose, hour, status, cache, refusal,
    /// schema result, shadow, tokens, cost and a latency across the histogram (bounds exactly,
    /// just above them, tiny and huge).
    static func call(_ i: Int, purposes: [String] = ["triage", "faq", "triage:shadow"], at: Date? = nil) -> CallRecord {
        let purpose = purposes[i % purposes.count]
        let created = at ?? baseHour.addingTimeInterval((Double(i) * 73.417).rounded() + 0.123)
        var r = CallRecord(callID: "call_\(String(format: "%06d", i))", createdAt: created, purpose: purpose, model: "m\(i % 3)")
        r.status = [.ok, .ok, .ok, .error, .ok, .streamInterrupted, .ok, .degraded][i % 8]
        r.cache = ["miss", "hit", "bypass", "semantic_hit", "miss"][i % 5]
        r.refusal = [nil, false, true][i % 3]
        r.schemaValid = [nil, true, false, true][i % 4]
        r.shadowOf = purpose.hasSuffix(":shadow") ? "call_\(String(format: "%06d", i - 1))" : nil
        r.usage = Usage(inputTokens: 10 * i, outputTokens: i % 7, cachedTokens: i % 3 == 0 ? 4 : 0)
        r.costUSD = i % 6 == 0 ? nil : Double(i) * 0.000_123
        r.savedUSD = r.cache.hasSuffix("hit") ? 0.001 * Double(i % 4) : 0
        let b = LatencyHistogram.bounds
        r.latencyMs = [0, 0.4, b[i % b.count], b[(i * 7) % b.count].nextUp, 250 + Double(i), 1e7][i % 6]
        return r
    }

    /// The rollups of `records` counted directly from their fields, sorted by hour and purpose.
    static func expected(_ records: [CallRecord]) -> [CallRollup] {
        var out: [String: CallRollup] = [:]
        for r in records {
            let ms = (r.createdAt.timeIntervalSince1970 * 1000).rounded()
            let hour = Date(timeIntervalSince1970: (ms / 3_600_000).rounded(.down) * 3600)
            let key = "\(hour.timeIntervalSince1970)|\(r.purpose)"
            var x = out[key] ?? CallRollup(hour: hour, purpose: r.purpose)
            x.calls += 1
            if r.status != .ok { x.errors += 1 }
            if r.refusal == true { x.refusals += 1 }
            if r.cache == "hit" || r.cache == "semantic_hit" { x.cacheHits += 1 }
            if r.shadowOf != nil { x.shadows += 1 }
            x.costUSD += r.costUSD ?? 0
            x.savedUSD += r.savedUSD
            x.inputTokens += r.usage.inputTokens
            x.outputTokens += r.usage.outputTokens
            x.cachedTokens += r.usage.cachedTokens
            if r.schemaValid != nil { x.schemaChecked += 1 }
            if r.schemaValid == true { x.schemaValid += 1 }
            x.latency[LatencyHistogram.bucket(forMs: r.latencyMs)] += 1
            out[key] = x
        }
        return sorted(Array(out.values))
    }

    static func sorted(_ rows: [CallRollup]) -> [CallRollup] {
        rows.sorted { ($0.hour, $0.purpose) < ($1.hour, $1.purpose) }
    }

    /// `actual` equals `expected` (in any order), the money sums to within rounding.
    static func same(_ actual: [CallRollup], _ expected: [CallRollup], _ note: Comment, sourceLocation: SourceLocation = #_sourceLocation) {
        let a = sorted(actual)
        #expect(a.count == expected.count, note, sourceLocation: sourceLocation)
        for (x, y) in zip(a, expected) {
            #expect(abs(x.costUSD - y.costUSD) < 1e-9 && abs(x.savedUSD - y.savedUSD) < 1e-9, note, sourceLocation: sourceLocation)
            var x2 = x
            x2.costUSD = y.costUSD
            x2.savedUSD = y.savedUSD
            #expect(x2 == y, note, sourceLocation: sourceLocation)
        }
    }

    static var everything: (Date, Date) { (Date(timeIntervalSince1970: 0), Date().addingTimeInterval(86_400)) }

    @Test(arguments: StoreBackend.available)
    func rollupsEqualACountOverTheCalls(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let records = (0..<600).map { Self.call($0) }
            // Batches of several sizes, out of time order.
            try await store.insert(Array(records[300..<600]))
            try await store.insert(Array(records[0..<1]))
            try await store.insert(Array(records[1..<300]))
            let (from, to) = Self.everything
            let all = try await store.rollups(from: from, to: to, purpose: nil)
            let want = Self.expected(records)
            #expect(Set(want.map { $0.hour }).count >= 10)
            #expect(want.contains { $0.latency[LatencyHistogram.bounds.count] > 0 && $0.errors > 0 && $0.schemaValid > 0 && $0.shadows > 0 })
            Self.same(all, want, "all purposes")
            Self.same(
                try await store.rollups(from: from, to: to, purpose: "faq"), want.filter { $0.purpose == "faq" }, "one purpose")
            #expect(try await store.rollups(from: from, to: to, purpose: "nope").isEmpty)
            // Hours that start in [from, to): a range starting mid-hour leaves that hour out.
            let h1 = Self.baseHour.addingTimeInterval(3600)
            let h3 = Self.baseHour.addingTimeInterval(3 * 3600)
            Self.same(
                try await store.rollups(from: Self.baseHour.addingTimeInterval(1), to: h3, purpose: nil),
                want.filter { $0.hour >= h1 && $0.hour < h3 }, "range")
            // The same totals as the call log itself.
            let logged = try await store.count()
            #expect(all.reduce(0) { $0 + $1.calls } == logged)
        }
    }

    @Test(arguments: StoreBackend.available)
    func replacingACallMovesItsContribution(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            var records = (0..<200).map { Self.call($0) }
            try await store.insert(records)
            try await store.insert(records)  // a retried batch changes nothing
            let (from, to) = Self.everything
            Self.same(try await store.rollups(from: from, to: to, purpose: nil), Self.expected(records), "retried")

            // Rewrite some calls: new purpose, status, hour, latency; the only call of one
            // (hour, purpose) moves away, so that rollup row must go.
            var changed: [CallRecord] = []
            for i in stride(from: 0, to: 200, by: 9) {
                var r = records[i]
                r.purpose = "moved"
                r.status = r.status == .ok ? .error : .ok
                r.latencyMs += 1000
                r.costUSD = 0.5
                r.refusal = true
                r.createdAt = r.createdAt.addingTimeInterval(7200)
                records[i] = r
                changed.append(r)
            }
            var lonely = Self.call(500, purposes: ["lonely"])
            try await store.insert([lonely])
            lonely.purpose = "moved"
            records.append(lonely)
            // The same id twice in one batch: the last one counts.
            var twice = changed[0]
            twice.usage.inputTokens += 5
            records[0] = twice
            try await store.insert(changed + [lonely, twice])
            let got = try await store.rollups(from: from, to: to, purpose: nil)
            Self.same(got, Self.expected(records), "replaced")
            #expect(!got.contains { $0.purpose == "lonely" })
            #expect(try await store.get(records[9].callID)?.purpose == "moved")
        }
    }

    /// Two nodes writing the same hours at once, some calls by both (a batch retried on the
    /// other node): no count is lost or doubled, and no writer deadlocks.
    @Test(arguments: StoreBackend.available)
    func concurrentWritersAddUp(_ backend: StoreBackend) async throws {
        try await withStore(backend) { fixture, a in
            let b = try await fixture.open()
            let records = (0..<900).map { Self.call($0, at: Self.baseHour.addingTimeInterval(Double($0 % 7) * 1800 + 0.5)) }
            let shared = Array(records[800..<900])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (store, part) in [(a, records[0..<400]), (b, records[400..<800])] {
                    group.addTask {
                        for start in stride(from: part.startIndex, to: part.endIndex, by: 50) {
                            try await store.insert(Array(part[start..<min(start + 50, part.endIndex)]))
                            try await store.insert(Array(shared[(start / 50 % 4) * 25..<(start / 50 % 4 + 1) * 25]))
                        }
                    }
                }
                try await group.waitForAll()
            }
            try await b.close()
            let (from, to) = Self.everything
            Self.same(try await a.rollups(from: from, to: to, purpose: nil), Self.expected(records), "two writers")
        }
    }

    @Test(arguments: StoreBackend.available)
    func migrationAndRebuildFillRollupsFromExistingCalls(_ backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let old = (0..<400).map { Self.call($0) }
            let store = try await Self.openBeforeRollups(fixture, with: old)
            try await store.migrate()
            let (from, to) = Self.everything
            Self.same(try await store.rollups(from: from, to: to, purpose: nil), Self.expected(old), "migrated")

            // Later writes add to the backfilled rows.
            let new = (400..<450).map { Self.call($0) }
            try await store.insert(new)
            Self.same(try await store.rollups(from: from, to: to, purpose: nil), Self.expected(old + new), "after insert")

            // A rebuild from scratch gives the same rows.
            try await Self.execute(store, "DELETE FROM call_rollups")
            #expect(try await store.rollups(from: from, to: to, purpose: nil).isEmpty)
            try await Self.rebuild(store)
            Self.same(try await store.rollups(from: from, to: to, purpose: nil), Self.expected(old + new), "rebuilt")
            try await store.close()
        }
    }

    // MARK: the histogram

    @Test func boundsAreLogSpacedFromOneMillisecondPastTenMinutes() {
        let b = LatencyHistogram.bounds
        #expect(b.first == 1)
        #expect(b.count == 74)
        #expect(b[b.count - 2] <= 600_000 && b[b.count - 1] > 600_000)
        for i in 1..<b.count { #expect(abs(b[i] / b[i - 1] - 1.2) < 1e-12) }
        #expect(CallRollup(hour: Date(), purpose: "p").latency.count == b.count + 1)
        #expect(RollupColumns.latency.count == b.count + 1)
    }

    @Test func bucketsHoldTheirUpperBound() {
        let b = LatencyHistogram.bounds
        #expect(LatencyHistogram.bucket(forMs: 0) == 0)
        #expect(LatencyHistogram.bucket(forMs: -3) == 0)
        #expect(LatencyHistogram.bucket(forMs: 1) == 0)
        for i in b.indices {
            #expect(LatencyHistogram.bucket(forMs: b[i]) == i)
            #expect(LatencyHistogram.bucket(forMs: b[i].nextUp) == i + 1)
        }
        #expect(LatencyHistogram.bucket(forMs: 1e9) == b.count)
        #expect(LatencyHistogram.bucket(forMs: .infinity) == b.count)
        #expect(LatencyHistogram.bucket(forMs: .nan) == b.count)
    }

    static func counts(_ latencies: [Double]) -> [Int] {
        var c = Array(repeating: 0, count: LatencyHistogram.slotCount)
        for ms in latencies { c[LatencyHistogram.bucket(forMs: ms)] += 1 }
        return c
    }

    @Test func quantilesOfKnownDistributions() throws {
        #expect(LatencyHistogram.quantile(0.5, counts: []) == nil)
        #expect(LatencyHistogram.quantile(0.5, counts: Array(repeating: 0, count: LatencyHistogram.slotCount)) == nil)
        #expect(LatencyHistogram.quantile(.nan, counts: [1]) == nil)

        // Uniform 1…10,000 ms: every quantile within one bucket's width (20 %).
        let uniform = Self.counts((1...10_000).map(Double.init))
        for (q, want) in [(0.5, 5000.0), (0.9, 9000), (0.99, 9900), (0.1, 1000)] {
            let got = try #require(LatencyHistogram.quantile(q, counts: uniform))
            #expect(abs(got / want - 1) < 0.1, "q\(q): \(got) vs \(want)")
        }
        // Log-uniform 10 ms…10 s: the median is 316 ms.
        let logUniform = Self.counts((0..<5000).map { 10 * pow(1000, Double($0) / 4999) })
        let median = try #require(LatencyHistogram.quantile(0.5, counts: logUniform))
        #expect(abs(median / 316.2 - 1) < 0.1, "\(median)")
        // Quantiles never decrease.
        var last = 0.0
        for q in stride(from: 0.0, through: 1.0, by: 0.01) {
            let v = try #require(LatencyHistogram.quantile(q, counts: logUniform))
            #expect(v >= last)
            last = v
        }

        // One slot: the ends are its bounds, the middle their geometric mean.
        let b = LatencyHistogram.bounds
        var one = Array(repeating: 0, count: LatencyHistogram.slotCount)
        one[10] = 4
        #expect(LatencyHistogram.quantile(0, counts: one) == b[9])
        #expect(LatencyHistogram.quantile(1, counts: one) == b[10])
        #expect(abs(try #require(LatencyHistogram.quantile(0.5, counts: one)) - (b[9] * b[10]).squareRoot()) < 1e-9)
        // Slot 0 runs linearly from 0 to 1 ms; the overflow slot answers the last bound.
        one[10] = 0
        one[0] = 2
        #expect(LatencyHistogram.quantile(0.5, counts: one) == 0.5)
        one[0] = 0
        one[b.count] = 3
        #expect(LatencyHistogram.quantile(0.99, counts: one) == b[b.count - 1])
    }

    // MARK: helpers

    /// A store on `fixture` migrated through `012_evals`, with `records` written to `calls` only.
    /// The `calls` columns added after migration 012 (016, 021 and 023).
    static let laterColumns = ["surface", "tool_calls", "output_sentiment", "input_chars", "input_script", "guard_verdicts"]

    static func openBeforeRollups(_ fixture: StoreFixture, with records: [CallRecord]) async throws -> any SluiceStore {
        switch StorageURL.parse(fixture.storageURL) {
        case .success(.sqlite(let path)):
            let store = try SQLiteStore(path: path)
            try SQLiteMigrations.migrator.migrate(store.pool, upTo: "012_evals")
            // The calls are written with today's columns, then the columns added after 012 are taken away again.
            try await store.pool.write { db in
                try db.execute(sql: "ALTER TABLE calls ADD COLUMN surface TEXT")
                for statement in CallColumns.migration021(integer: "INTEGER", real: "REAL", ifNotExists: "") { try db.execute(sql: statement) }
                try db.execute(sql: CallColumns.migration023)
                for r in records {
                    try db.execute(sql: SQLiteStore.insertSQL, arguments: StatementArguments(r.cells(sealedBy: nil).map(\.databaseValue)))
                }
                for column in Self.laterColumns { try db.execute(sql: "ALTER TABLE calls DROP COLUMN \(column)") }
            }
            return store
        case .success(.postgres(let url)):
            let store = PostgresStore(url: url, logger: PostgresStoreTests.quiet)
            try await PostgresMigrations.run(on: store, through: "012_evals")
            let query = PostgresStore.insertQuery(records[...], cipher: nil)
            try await store.run("seed calls") { client in
                _ = try await client.query("ALTER TABLE calls ADD COLUMN surface TEXT")
                for statement in CallColumns.migration021(integer: "BIGINT", real: "DOUBLE PRECISION", ifNotExists: "") {
                    _ = try await client.query(PostgresQuery(unsafeSQL: statement))
                }
                _ = try await client.query(PostgresQuery(unsafeSQL: CallColumns.migration023))
                _ = try await client.query(query)
                for column in Self.laterColumns { _ = try await client.query(PostgresQuery(unsafeSQL: "ALTER TABLE calls DROP COLUMN \(column)")) }
            }
            return store
        case .failure(let e):
            throw e
        }
    }

    static func execute(_ store: any SluiceStore, _ sql: String) async throws {
        if let s = store as? SQLiteStore {
            try await s.pool.write { db in try db.execute(sql: sql) }
        } else if let s = store as? PostgresStore {
            _ = try await s.rows("test statement", sql)
        }
    }

    static func rebuild(_ store: any SluiceStore) async throws {
        if let s = store as? SQLiteStore { try await s.rebuildRollups() }
        if let s = store as? PostgresStore { try await s.rebuildRollups() }
    }
}
