import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// A store that can be switched off: pings, writes and leases fail while it is down.
final class SwitchableStore: ForwardingStore {
    let inner: SQLiteStore
    var base: any SluiceStore { inner }
    let down = Locked(false)
    struct Down: Error, CustomStringConvertible { var description: String { "store is down" } }

    init(_ inner: SQLiteStore) { self.inner = inner }

    func check() throws { if down.value { throw Down() } }
    func ping() async throws { try check(); try await inner.ping() }
    func insert(_ records: [CallRecord]) async throws { try check(); try await inner.insert(records) }
    func acquireLease(_ r: LeaseRequest) async throws -> Lease? { try check(); return try await inner.acquireLease(r) }
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
