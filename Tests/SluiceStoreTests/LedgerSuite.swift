import Foundation
import GRDB
import PostgresNIO
import SluiceCore
@testable import SluiceStore
import SluiceTesting
import Testing

@Suite struct LedgerSuite {
    /// A call with every ledger tag set from `i` (some left `nil`), created at `at`.
    static func call(
        _ i: Int, at: Date, purpose: String = "triage", cost: Double?, cache: String = "miss", saved: Double = 0,
        status: CallRecord.Status = .ok
    ) -> CallRecord {
        var r = CallRecord(callID: "call_\(String(format: "%06d", i))", createdAt: at, purpose: purpose, model: "m\(i % 3)")
        r.status = status
        r.cache = cache
        r.costUSD = cost
        r.savedUSD = saved
        r.keyName = i % 4 == 0 ? nil : "key\(i % 4)"
        r.user = i % 5 == 0 ? nil : "user\(i % 5)"
        r.runID = i % 2 == 0 ? "run\(i % 6)" : nil
        r.provider = i % 7 == 0 ? nil : ["openai", "anthropic"][i % 2]
        r.promptVersion = i % 3 == 0 ? "v\(i % 2)" : nil
        r.usage = Usage(inputTokens: 10 * i + 1, outputTokens: i)
        return r
    }

    /// The entry a record should have, or `nil`.
    static func expectedEntry(_ r: CallRecord) -> LedgerEntry? {
        let hit = r.cache == "hit" || r.cache == "semantic_hit"
        guard (r.costUSD ?? 0) > 0 || hit else { return nil }
        return LedgerEntry(
            callID: r.callID, at: Date(millis: r.createdAtMillis), kind: hit ? "cache_hit" : "call", purpose: r.purpose, key: r.keyName,
            user: r.user, runID: r.runID, model: r.model, provider: r.provider, promptVersion: r.promptVersion,
            costUSD: r.costUSD ?? 0, savedUSD: r.savedUSD, inputTokens: r.usage.inputTokens, outputTokens: r.usage.outputTokens)
    }

    /// The group value of `e` for `dimension`.
    static func group(_ e: LedgerEntry, _ dimension: LedgerDimension) -> String? {
        switch dimension {
        case .purpose: return e.purpose
        case .model: return e.model
        case .key: return e.key
        case .user: return e.user
        case .provider: return e.provider
        case .run: return e.runID
        }
    }

    /// Totals computed by hand from the records, in the store's order (cost desc, group asc, nil last).
    static func handTotals(_ records: [CallRecord], by dimension: LedgerDimension?) -> [LedgerTotal] {
        var totals: [String?: LedgerTotal] = [:]
        for e in records.compactMap(expectedEntry) {
            let g = dimension.map { group(e, $0) } ?? nil
            var t = totals[g] ?? LedgerTotal(group: g, costUSD: 0, savedUSD: 0, calls: 0, inputTokens: 0, outputTokens: 0)
            t.costUSD += e.costUSD
            t.savedUSD += e.savedUSD
            t.calls += 1
            t.inputTokens += e.inputTokens
            t.outputTokens += e.outputTokens
            totals[g] = t
        }
        return totals.values.sorted { a, b in
            if a.costUSD != b.costUSD { return a.costUSD > b.costUSD }
            switch (a.group, b.group) {
            case (let x?, let y?): return Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8))
            case (_?, nil): return true
            default: return false
            }
        }
    }

    /// `got` has the groups of `want` with the same counts and sums (doubles up to 1e-9), sorted by
    /// cost, highest first (groups whose costs tie up to rounding may come in either order).
    static func same(_ got: [LedgerTotal], _ want: [LedgerTotal], _ context: String) {
        #expect(got.count == want.count, "\(context)")
        #expect(Set(got.map(\.group)) == Set(want.map(\.group)), "\(context)")
        for w in want {
            guard let g = got.first(where: { $0.group == w.group }) else { continue }
            #expect(g.calls == w.calls && g.inputTokens == w.inputTokens && g.outputTokens == w.outputTokens, "\(context) \(g) \(w)")
            #expect(abs(g.costUSD - w.costUSD) < 1e-9, "\(context) \(g) \(w)")
            #expect(abs(g.savedUSD - w.savedUSD) < 1e-9, "\(context) \(g) \(w)")
        }
        for (a, b) in zip(got, got.dropFirst()) { #expect(a.costUSD >= b.costUSD - 1e-9, "\(context) \(got)") }
    }

    static let zero = LedgerTotal(group: nil, costUSD: 0, savedUSD: 0, calls: 0, inputTokens: 0, outputTokens: 0)

    /// A record with a cost gets a `call` entry with its tags; no cost (nil or 0) gets none; a cache
    /// hit with zero cost and savings gets a `cache_hit` entry; provider savings are kept on a `call`.
    @Test(arguments: StoreBackend.available)
    func entriesFollowTheRule(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let paid = Self.call(1, at: t, cost: 0.25)
            let unpriced = Self.call(2, at: t, cost: nil)
            let free = Self.call(3, at: t, cost: 0)
            let hit = Self.call(4, at: t, cost: nil, cache: "hit", saved: 0.4)
            let semantic = Self.call(5, at: t, cost: 0, cache: "semantic_hit", saved: 0.125)
            let promptCached = Self.call(6, at: t, cost: 0.01, saved: 0.002)
            var tagged = Self.call(12, at: t, cost: 0.5)
            (tagged.keyName, tagged.user, tagged.runID, tagged.provider, tagged.promptVersion) = ("k", "u", "r", "openai", "v9")
            let all = [paid, unpriced, free, hit, semantic, promptCached, tagged]
            try await store.insert(all)
            #expect(try await store.count() == 7)

            for r in all {
                #expect(try await store.ledgerEntry(callID: r.callID) == Self.expectedEntry(r), "\(r.callID)")
            }
            #expect(try await store.ledgerEntry(callID: unpriced.callID) == nil)
            #expect(try await store.ledgerEntry(callID: free.callID) == nil)
            #expect(try await store.ledgerEntry(callID: hit.callID)?.kind == "cache_hit")
            #expect(try await store.ledgerEntry(callID: hit.callID)?.costUSD == 0)
            #expect(try await store.ledgerEntry(callID: semantic.callID)?.savedUSD == 0.125)
            #expect(try await store.ledgerEntry(callID: promptCached.callID)?.kind == "call")
            let full = try #require(try await store.ledgerEntry(callID: tagged.callID))
            #expect(full.key == "k" && full.user == "u" && full.runID == "r" && full.provider == "openai")
            #expect(full.promptVersion == "v9" && full.model == "m0" && full.at == t && full.inputTokens == 121)
            #expect(try await store.ledgerEntry(callID: "call_missing") == nil)

            let total = try await store.ledgerTotals(from: t, to: t.addingTimeInterval(1), by: nil, purpose: nil)
            Self.same(total, Self.handTotals(all, by: nil), "all")
            #expect(total.first?.calls == 5)
        }
    }

    /// A call id inserted again replaces its entry (never doubles it), within a batch too; a record
    /// that no longer qualifies loses its entry; one that newly qualifies gains it.
    @Test(arguments: StoreBackend.available)
    func reinsertReplacesTheEntry(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let window = (from: t, to: t.addingTimeInterval(1))
            func total() async throws -> LedgerTotal? {
                try await store.ledgerTotals(from: window.from, to: window.to, by: nil, purpose: nil).first
            }
            try await store.insert([Self.call(1, at: t, cost: 0.1), Self.call(2, at: t, cost: 0.2)])
            try await store.insert([Self.call(1, at: t, cost: 0.3)])
            #expect(try await store.ledgerEntry(callID: Self.call(1, at: t, cost: 0).callID)?.costUSD == 0.3)
            #expect(try await total()?.calls == 2)
            #expect(abs(try #require(try await total()).costUSD - 0.5) < 1e-12)

            try await store.insert([Self.call(1, at: t, cost: 0.7), Self.call(1, at: t, cost: 0.9)])
            #expect(try await store.ledgerEntry(callID: "call_000001")?.costUSD == 0.9)
            #expect(try await total()?.calls == 2)

            try await store.insert([Self.call(1, at: t, cost: nil), Self.call(2, at: t, cost: 0)])
            #expect(try await store.ledgerEntry(callID: "call_000001") == nil)
            #expect(try await store.ledgerEntry(callID: "call_000002") == nil)
            #expect(try await total() == Self.zero)

            try await store.insert([Self.call(2, at: t, cost: nil, cache: "hit", saved: 0.2)])
            #expect(try await store.ledgerEntry(callID: "call_000002")?.kind == "cache_hit")
            try await store.insert([Self.call(2, at: t, cost: 0.05)])
            #expect(try await store.ledgerEntry(callID: "call_000002")?.kind == "call")
            #expect(try await store.ledgerEntry(callID: "call_000002")?.savedUSD == 0)
            #expect(try await store.count() == 2)
        }
    }

    /// Totals, ungrouped and by every dimension, with and without a purpose, equal hand sums of the records.
    @Test(arguments: StoreBackend.available)
    func totalsMatchHandSums(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let purposes = ["triage", "extract", "eval"]
            let records = (0..<60).map { (i: Int) -> CallRecord in
                let cost: Double? = i % 5 == 0 ? nil : Double(i) * 0.00137
                let at = t.addingTimeInterval(Double(i) / 1000)
                return Self.call(
                    i, at: at, purpose: purposes[i % 3], cost: cost, cache: i % 11 == 0 ? "hit" : "miss", saved: Double(i % 4) * 0.01)
            }
            try await store.insert(records.shuffled())
            let to = t.addingTimeInterval(1)
            for purpose in [nil, "triage", "eval", "nothing"] {
                let subset = records.filter { purpose == nil || $0.purpose == purpose }
                let ungrouped = try await store.ledgerTotals(from: t, to: to, by: nil, purpose: purpose)
                #expect(ungrouped.count == 1)
                Self.same(ungrouped, subset.isEmpty ? [Self.zero] : Self.handTotals(subset, by: nil), "\(purpose ?? "all")")
                for d in LedgerDimension.allCases {
                    let got = try await store.ledgerTotals(from: t, to: to, by: d, purpose: purpose)
                    Self.same(got, Self.handTotals(subset, by: d), "\(d) \(purpose ?? "all")")
                }
            }
        }
    }

    /// Equal costs sort by group, byte-wise, with entries without a value last; an empty window
    /// gives one zero row ungrouped and no groups grouped.
    @Test(arguments: StoreBackend.available)
    func groupsSortByCostThenName(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            var records: [CallRecord] = []
            for (i, (key, cost)) in [("b", 0.5), ("a", 0.5), ("Z", 0.5), (nil, 0.5), ("c", 0.75), ("d", 0.25)].enumerated() {
                var r = Self.call(i, at: t, cost: cost)
                r.keyName = key
                records.append(r)
            }
            try await store.insert(records)
            let got = try await store.ledgerTotals(from: t, to: t.addingTimeInterval(1), by: .key, purpose: nil)
            #expect(got.map(\.group) == ["c", "Z", "a", "b", nil, "d"])
            #expect(got.map(\.costUSD) == [0.75, 0.5, 0.5, 0.5, 0.5, 0.25])

            let later = t.addingTimeInterval(10)
            #expect(try await store.ledgerTotals(from: later, to: later.addingTimeInterval(1), by: nil, purpose: nil) == [Self.zero])
            #expect(try await store.ledgerTotals(from: later, to: later.addingTimeInterval(1), by: .model, purpose: nil).isEmpty)
            #expect(try await store.ledgerDaily(from: later, to: later.addingTimeInterval(1), purpose: nil).isEmpty)
        }
    }

    /// The window includes `from` and excludes `to`, to the millisecond, for totals, days and counts.
    @Test(arguments: StoreBackend.available)
    func windowIncludesFromExcludesTo(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let records = [0, 999, 1000, 1999, 2000].enumerated().map { i, ms in
                Self.call(i, at: t.addingTimeInterval(Double(ms) / 1000), cost: Double(i + 1) / 8)
            }
            try await store.insert(records)
            let from = t.addingTimeInterval(1), to = t.addingTimeInterval(2)
            let got = try #require(try await store.ledgerTotals(from: from, to: to, by: nil, purpose: nil).first)
            #expect(got.calls == 2 && got.costUSD == 3.0 / 8 + 4.0 / 8)
            #expect(try await store.ledgerDaily(from: from, to: to, purpose: nil).values.reduce(0, +) == 7.0 / 8)
            #expect(try await store.callCounts(from: from, to: to, purpose: nil) == CallCounts(calls: 2, errors: 0))
            let first = try #require(try await store.ledgerTotals(from: t, to: t.addingTimeInterval(0.999), by: nil, purpose: nil).first)
            #expect(first.calls == 1 && first.costUSD == 1.0 / 8)
            #expect(try await store.ledgerTotals(from: t, to: t, by: nil, purpose: nil) == [Self.zero])
        }
    }

    /// Spend per UTC day across midnight, with a purpose filter; a day of only cache hits is absent.
    @Test(arguments: StoreBackend.available)
    func dailySpendByUTCDay(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let midnight = Date(millis: 1_772_409_600_000)  // 2026-03-02T00:00:00Z
            let records = [
                Self.call(1, at: midnight.addingTimeInterval(-86_400), purpose: "a", cost: 0.5),
                Self.call(2, at: midnight.addingTimeInterval(-0.001), purpose: "a", cost: 0.25),
                Self.call(3, at: midnight.addingTimeInterval(-3_600), purpose: "b", cost: 2),
                Self.call(4, at: midnight, purpose: "a", cost: 0.125),
                Self.call(5, at: midnight.addingTimeInterval(86_399.999), purpose: "b", cost: 1),
                Self.call(6, at: midnight.addingTimeInterval(86_400), purpose: "a", cost: nil, cache: "hit", saved: 3),
                Self.call(7, at: midnight.addingTimeInterval(86_400 * 2), purpose: "a", cost: 4),
            ]
            try await store.insert(records)
            let from = midnight.addingTimeInterval(-3_600 * 2), to = midnight.addingTimeInterval(86_400 * 2)
            #expect(try await store.ledgerDaily(from: from, to: to, purpose: nil) == ["2026-03-01": 2.25, "2026-03-02": 1.125])
            #expect(try await store.ledgerDaily(from: from, to: to, purpose: "a") == ["2026-03-01": 0.25, "2026-03-02": 0.125])
            #expect(try await store.ledgerDaily(from: from, to: to, purpose: "b") == ["2026-03-01": 2, "2026-03-02": 1])
            #expect(try await store.ledgerDaily(from: from, to: to, purpose: "c").isEmpty)
            let everything = try await store.ledgerDaily(from: .distantPast, to: .distantFuture, purpose: "a")
            #expect(everything == ["2026-03-01": 0.75, "2026-03-02": 0.125, "2026-03-04": 4])
        }
    }

    /// Calls and errors (`error`, `stream_interrupted`) in a window, whatever their cost, optionally one purpose.
    @Test(arguments: StoreBackend.available)
    func callCountsCountErrors(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let statuses: [CallRecord.Status] = [.ok, .error, .streamInterrupted, .degraded, .ok, .error, .ok]
            let records = statuses.enumerated().map { i, s in
                Self.call(i, at: t.addingTimeInterval(Double(i) / 100), purpose: i < 4 ? "a" : "b", cost: i % 2 == 0 ? 0.1 : nil, status: s)
            }
            try await store.insert(records + [Self.call(99, at: t.addingTimeInterval(5), cost: 1, status: .error)])
            let to = t.addingTimeInterval(1)
            #expect(try await store.callCounts(from: t, to: to, purpose: nil) == CallCounts(calls: 7, errors: 3))
            #expect(try await store.callCounts(from: t, to: to, purpose: "a") == CallCounts(calls: 4, errors: 2))
            #expect(try await store.callCounts(from: t, to: to, purpose: "b") == CallCounts(calls: 3, errors: 1))
            #expect(try await store.callCounts(from: t, to: to, purpose: "none") == CallCounts(calls: 0, errors: 0))
            #expect(try await store.callCounts(from: t, to: t.addingTimeInterval(10), purpose: nil) == CallCounts(calls: 8, errors: 4))
        }
    }

    /// The ledger total of N records equals the sum of their costs up to 1e-9, across batches.
    @Test(arguments: StoreBackend.available)
    func totalEqualsSumOfCosts(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            var state: UInt64 = 0x9E37_79B9_7F4A_7C15
            let records = (0..<2_500).map { i in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let cost = i % 9 == 0 ? nil : Double(state >> 11) / Double(1 << 53) * 0.37
                return Self.call(i, at: t.addingTimeInterval(Double(i % 500) / 1000), purpose: "p\(i % 4)", cost: cost)
            }
            for start in stride(from: 0, to: records.count, by: 700) {
                try await store.insert(Array(records[start..<min(start + 700, records.count)]))
            }
            let want = records.compactMap(\.costUSD).reduce(0, +)
            let got = try #require(try await store.ledgerTotals(from: t, to: t.addingTimeInterval(1), by: nil, purpose: nil).first)
            #expect(abs(got.costUSD - want) < 1e-9, "\(got.costUSD) vs \(want)")
            #expect(got.calls == records.filter { ($0.costUSD ?? 0) > 0 }.count)
            let byPurpose = try await store.ledgerTotals(from: t, to: t.addingTimeInterval(1), by: .purpose, purpose: nil)
            #expect(abs(byPurpose.map(\.costUSD).reduce(0, +) - want) < 1e-9)
            let daily = try await store.ledgerDaily(from: t, to: t.addingTimeInterval(1), purpose: nil)
            #expect(abs(daily.values.reduce(0, +) - want) < 1e-9)
        }
    }

    /// Two nodes insert disjoint batches at once: every entry lands once and the total is the sum.
    @Test(arguments: StoreBackend.available)
    func concurrentWritersSumExactly(_ backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let nodes = [try await fixture.open(), try await fixture.open()]
            let t = storedNow()
            let records = (0..<1_200).map { i in
                Self.call(i, at: t.addingTimeInterval(Double(i % 700) / 1000), cost: i % 7 == 0 ? nil : Double(i % 97) / 1024)
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (b, start) in stride(from: 0, to: records.count, by: 100).enumerated() {
                    let batch = Array(records[start..<start + 100])
                    let store = nodes[b % 2]
                    group.addTask { try await store.insert(batch) }
                }
                try await group.waitForAll()
            }
            let got = try #require(try await nodes[1].ledgerTotals(from: t, to: t.addingTimeInterval(1), by: nil, purpose: nil).first)
            let want = records.compactMap(\.costUSD).reduce(0, +)
            #expect(abs(got.costUSD - want) < 1e-9, "\(got.costUSD) vs \(want)")
            #expect(got.calls == records.filter { ($0.costUSD ?? 0) > 0 }.count)
            #expect(try await nodes[0].count() == 1_200)
            for s in nodes { try await s.close() }
        }
    }

    /// Migration 006 fills the ledger from the calls already logged, by the same rule as inserts.
    @Test(arguments: StoreBackend.available)
    func upgradeBackfillsTheLedger(_ backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let t = storedNow()
            let caches = ["miss", "hit", "semantic_hit", "bypass"]
            let records = (0..<40).map { (i: Int) -> CallRecord in
                let cost: Double? = i % 3 == 0 ? nil : (i % 5 == 0 ? 0 : Double(i) / 64)
                let at = t.addingTimeInterval(Double(i) / 100)
                return Self.call(
                    i, at: at, purpose: i % 2 == 0 ? "a" : "b", cost: cost, cache: caches[i % 4], saved: Double(i % 3) / 32)
            }
            let store = try await Self.openBeforeLedger(fixture, with: records)
            try await store.migrate()
            for r in records {
                #expect(try await store.ledgerEntry(callID: r.callID) == Self.expectedEntry(r), "\(r.callID)")
            }
            let to = t.addingTimeInterval(1)
            Self.same(try await store.ledgerTotals(from: t, to: to, by: nil, purpose: nil), Self.handTotals(records, by: nil), "all")
            Self.same(try await store.ledgerTotals(from: t, to: to, by: .purpose, purpose: nil), Self.handTotals(records, by: .purpose), "purpose")
            try await store.insert([Self.call(1, at: t, cost: nil)])
            #expect(try await store.ledgerEntry(callID: "call_000001") == nil)
            try await store.close()
        }
    }

    /// The columns of `calls` after `005_reviews` (through `guard_flags`).
    static let columnsBeforeLedger = CallColumns.names.firstIndex(of: "guard_flags")! + 1

    /// A store on `fixture` migrated through `005_reviews`, with `records` written to `calls` only.
    static func openBeforeLedger(_ fixture: StoreFixture, with records: [CallRecord]) async throws -> any SluiceStore {
        switch StorageURL.parse(fixture.storageURL) {
        case .success(.sqlite(let path)):
            let store = try SQLiteStore(path: path)
            try SQLiteMigrations.migrator.migrate(store.pool, upTo: "005_reviews")
            // Only the columns `calls` had then (later migrations add more at the end).
            let width = Self.columnsBeforeLedger
            let sql = "INSERT INTO calls (\(CallColumns.names.prefix(width).joined(separator: ", "))) VALUES ("
                + Array(repeating: "?", count: width).joined(separator: ", ") + ")"
            try await store.pool.write { db in
                for r in records {
                    try db.execute(sql: sql, arguments: StatementArguments(r.cells(sealedBy: nil).prefix(width).map(\.databaseValue)))
                }
            }
            return store
        case .success(.postgres(let url)):
            let store = PostgresStore(url: url, logger: PostgresStoreTests.quiet)
            try await PostgresMigrations.run(on: store, through: "005_reviews")
            let width = Self.columnsBeforeLedger
            var sql = "INSERT INTO calls (\(PostgresStore.quotedColumns.prefix(width).joined(separator: ", "))) VALUES "
            var binds = PostgresBindings()
            PostgresStore.appendValues(records.map { Array($0.cells(sealedBy: nil).prefix(width)) }, to: &sql, &binds)
            let query = PostgresQuery(unsafeSQL: sql, binds: binds)
            try await store.run("seed calls") { client in _ = try await client.query(query) }
            return store
        case .failure(let e):
            throw e
        }
    }
}
