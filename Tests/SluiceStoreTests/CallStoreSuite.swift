import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

@Suite struct CallStoreSuite {
    @Test(arguments: StoreBackend.available)
    func insertListFilterGet(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let base = storedNow()
            var rows = (0..<10).map { record($0, purpose: $0 < 4 ? "a" : "b", at: base) }
            rows[3].status = .error
            rows[3].error = "boom"
            rows[5].runID = "run-1"
            rows[6].user = "u-6"
            rows[6].variant = "v4"
            rows[7].variant = "v3"
            rows[6].schemaValid = true
            rows[6].ttftMs = 12.5
            rows[6].requestBody = #"{"model":"m"}"#
            try await store.insert(rows)
            #expect(try await store.count() == 10)
            #expect(try await store.list(CallFilter(purpose: "a")).count == 4)
            #expect(try await store.list(CallFilter(model: "m")).count == 10)
            #expect(try await store.list(CallFilter(status: "error")).map(\.callID) == [rows[3].callID])
            #expect(try await store.list(CallFilter(runID: "run-1")).count == 1)
            #expect(try await store.list(CallFilter(purpose: "b", variant: "v4")).map(\.callID) == [rows[6].callID])
            #expect(try await store.list(CallFilter(since: base.addingTimeInterval(60))).isEmpty)
            let page = try await store.list(CallFilter(limit: 3))
            #expect(page.map(\.callID) == rows.reversed().prefix(3).map(\.callID))
            let next = try await store.list(CallFilter(before: page.last!.callID, limit: 3))
            #expect(next.first?.callID == rows[6].callID)
            let got = try #require(try await store.get(rows[4].callID))
            #expect(got == rows[4])
            #expect(got.costUSD == 0.004)
            #expect(try await store.get(rows[6].callID) == rows[6])
            #expect(try await store.get(rows[5].callID)?.costUSD == nil)
            #expect(try await store.get("call_missing") == nil)
        }
    }

    /// Repairs and guard flags round-trip; no flags come back as an empty list.
    @Test(arguments: StoreBackend.available)
    func repairsAndGuardFlagsRoundTrip(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let base = storedNow()
            var flagged = record(1, at: base)
            flagged.repairs = 2
            flagged.guardFlags = ["input:no_urls", "output:max_length"]
            var plain = record(2, at: base)
            plain.repairs = 0
            try await store.insert([flagged, plain])
            let got = try #require(try await store.get(flagged.callID))
            #expect(got == flagged)
            #expect(got.repairs == 2)
            #expect(got.guardFlags == ["input:no_urls", "output:max_length"])
            let bare = try #require(try await store.get(plain.callID))
            #expect(bare == plain)
            #expect(bare.repairs == 0 && bare.guardFlags.isEmpty)
            #expect(try await store.list(CallFilter()).map(\.repairs) == [0, 2])
        }
    }

    /// A replayed record replaces the stored one; duplicates in one batch keep
    /// the last; a batch larger than one statement is written whole.
    @Test(arguments: StoreBackend.available)
    func replaceAndLargeBatches(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            var r = record(1)
            try await store.insert([r])
            r.status = .error
            r.error = "late"
            try await store.insert([r, r])
            #expect(try await store.get(r.callID)?.error == "late")
            let many = (0..<2_500).map { record($0, at: storedNow()) }
            try await store.insert(many)
            #expect(try await store.count() == 2_501)
            #expect(try await store.get(many[2_499].callID) == many[2_499])
        }
    }

    @Test(arguments: StoreBackend.available)
    func keysCanBeRenamedOrSwapped(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            try await store.upsertKeys([
                StoredKey(name: "a", keyHash: "h1", purposes: ["*"]), StoredKey(name: "b", keyHash: "h2", purposes: ["*"]),
            ])
            try await store.upsertKeys([
                StoredKey(name: "a", keyHash: "h2", purposes: ["*"]), StoredKey(name: "b", keyHash: "h1", purposes: ["*"]),
            ])
            try await store.upsertKeys([StoredKey(name: "c", keyHash: "h1", purposes: ["x"])])
            let keys = try await store.listKeys()
            #expect(keys.first { $0.name == "c" } == StoredKey(name: "c", keyHash: "h1", purposes: ["x"]))
            #expect(Set(keys.map(\.keyHash)).count == keys.count)
        }
    }

    /// Nodes starting together write the same keys at once (`Gateway.syncKeys`): every write
    /// succeeds, and the table ends with each key once.
    @Test(arguments: StoreBackend.available)
    func concurrentKeySyncsAllSucceed(_ backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            // Correctness, not speed: a loaded CI machine may queue these writes past the default 10 s.
            let nodes = [try await fixture.open(statementTimeout: .seconds(60)), try await fixture.open(statementTimeout: .seconds(60))]
            for round in 0..<4 {
                // Fresh keys each round, so every writer inserts; odd rounds also swap two hashes.
                let keys = (0..<20).map { i in
                    StoredKey(name: "k\(round)-\(i)", keyHash: "h\(round)-\(round % 2 == 1 && i < 2 ? 1 - i : i)", purposes: ["*"])
                }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for w in 0..<8 {
                        let store = nodes[w % 2]
                        group.addTask { try await store.upsertKeys(w % 3 == 0 ? keys.reversed() : keys) }
                    }
                    try await group.waitForAll()
                }
            }
            let stored = try await nodes[0].listKeys()
            #expect(stored.count == 80)
            #expect(Set(stored.map(\.keyHash)).count == 80)
            for s in nodes { try await s.close() }
        }
    }

    /// Migrations are idempotent, and nodes starting together apply them once.
    @Test(arguments: StoreBackend.available)
    func concurrentMigrationsApplyOnce(_ backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        let s = try await fixture.open()
                        try await s.migrate()
                        try await s.insert([record(Int.random(in: 0..<1_000_000), at: storedNow())])
                        try await s.close()
                    }
                }
                try await group.waitForAll()
            }
            let s = try await fixture.open()
            #expect(try await s.count() == 3)
            try await s.ping()
            try await s.close()
        }
    }

    /// Two clients (two nodes) write to one call log and both read all of it.
    @Test(arguments: StoreBackend.available)
    func twoClientsShareOneCallLog(_ backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let a = try await fixture.open()
            let b = try await fixture.open()
            let ra = (0..<50).map { record($0, purpose: "a", at: storedNow()) }
            let rb = (0..<50).map { record($0, purpose: "b", at: storedNow()) }
            async let wa: Void = a.insert(ra)
            async let wb: Void = b.insert(rb)
            _ = try await (wa, wb)
            #expect(try await a.count() == 100)
            #expect(try await b.list(CallFilter(purpose: "a", limit: 100)).count == 50)
            #expect(try await a.get(rb[7].callID) == rb[7])
            try await a.close()
            try await b.close()
        }
    }
}
