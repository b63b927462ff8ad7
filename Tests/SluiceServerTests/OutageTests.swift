import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// A store that can be switched off: pings and writes fail while it is down.
final class SwitchableStore: SluiceStore {
    let inner: SQLiteStore
    let down = Locked(false)
    struct Down: Error, CustomStringConvertible { var description: String { "store is down" } }

    init(_ inner: SQLiteStore) { self.inner = inner }

    func check() throws { if down.value { throw Down() } }
    func migrate() async throws { try await inner.migrate() }
    func ping() async throws { try check(); try await inner.ping() }
    func close() async throws { try await inner.close() }
    func insert(_ records: [CallRecord]) async throws { try check(); try await inner.insert(records) }
    func list(_ filter: CallFilter) async throws -> [CallRecord] { try await inner.list(filter) }
    func get(_ callID: String) async throws -> CallRecord? { try await inner.get(callID) }
    func count() async throws -> Int { try await inner.count() }
    func upsertKeys(_ keys: [StoredKey]) async throws { try await inner.upsertKeys(keys) }
    func listKeys() async throws -> [StoredKey] { try await inner.listKeys() }
    var backend: String { inner.backend }
    var changes: any ChangeFeed { inner.changes }
    func acquireLease(_ r: LeaseRequest) async throws -> Lease? { try check(); return try await inner.acquireLease(r) }
    func reportLeaseUse(_ id: String, used: Int64) async throws { try await inner.reportLeaseUse(id, used: used) }
    func settleLease(_ id: String, used: Int64, now: Date) async throws -> Bool {
        try await inner.settleLease(id, used: used, now: now)
    }
    func reclaimExpiredLeases(now: Date) async throws -> Int { try await inner.reclaimExpiredLeases(now: now) }
    func quotaUsage(scope: String, window: String) async throws -> QuotaUsage? {
        try await inner.quotaUsage(scope: scope, window: window)
    }
    func pruneQuotaWindows(before: Date) async throws -> Int { try await inner.pruneQuotaWindows(before: before) }
    func enqueue(queue: String, id: String, payload: String, availableAt: Date) async throws -> Bool {
        try await inner.enqueue(queue: queue, id: id, payload: payload, availableAt: availableAt)
    }
    func claim(queue: String, worker: String, limit: Int, now: Date) async throws -> [QueueItem] {
        try await inner.claim(queue: queue, worker: worker, limit: limit, now: now)
    }
    func heartbeat(id: String, worker: String, now: Date) async throws -> Bool {
        try await inner.heartbeat(id: id, worker: worker, now: now)
    }
    func finish(id: String, worker: String, outcome: QueueOutcome, now: Date) async throws -> Bool {
        try await inner.finish(id: id, worker: worker, outcome: outcome, now: now)
    }
    func requeueStale(queue: String, heartbeatBefore: Date) async throws -> Int {
        try await inner.requeueStale(queue: queue, heartbeatBefore: heartbeatBefore)
    }
    func queueCounts(queue: String) async throws -> [String: Int] { try await inner.queueCounts(queue: queue) }
}

@Suite struct OutageTests {
    /// With the store away, calls are still served, `/readyz` says degraded, and
    /// the records are written once the store is back.
    @Test func storeOutageKeepsServingAndLosesNothing() async throws {
        let box = Locked<SwitchableStore?>(nil)
        try await Harness.with(wrapStore: { inner in
            let s = SwitchableStore(inner)
            box.withLock { $0 = s }
            return s
        }) { h in
            let store = try #require(box.value)
            #expect(try await h.request(.GET, "/readyz").status == 200)
            store.down.withLock { $0 = true }
            var ids: [String] = []
            for _ in 0..<5 {
                let r = try await h.chat(simpleSim)
                #expect(r.status == 200)
                ids.append(try #require(r.header("X-Sluice-Call-Id")))
            }
            // Wait for the writer to try (and fail) at least once.
            var degraded = false
            for _ in 0..<100 where !degraded {
                try await Task.sleep(for: .milliseconds(20))
                degraded = h.gateway.callLog.isDegraded
            }
            #expect(degraded)
            let ready = try await h.request(.GET, "/readyz")
            #expect(ready.status == 503)
            #expect(ready.json["status"]?.stringValue == "degraded")
            #expect(h.gateway.callLog.pending == 5)
            store.down.withLock { $0 = false }
            await h.gateway.callLog.flush()
            for id in ids { #expect(try await store.inner.get(id) != nil) }
            #expect(try await h.request(.GET, "/readyz").status == 200)
        }
    }
}
