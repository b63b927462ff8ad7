import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

@Suite struct ControlSuite {
    func audit(_ action: String, _ target: String, at: Date, actor: String = "alice", reason: String? = nil) -> AuditEntry {
        AuditEntry(id: IDs.make("aud", at: at), at: at, actor: actor, action: action, target: target, reason: reason)
    }

    /// Kill switches are stored with their audit entry; replacing one returns the old;
    /// removing one that is off writes no audit entry; the audit log pages newest first.
    @Test(arguments: StoreBackend.available)
    func killSwitchesAndTheirAuditTrail(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let k = KillSwitch(scope: .purpose, name: "triage", reason: "bad prompt", actor: "alice", createdAt: t)
            #expect(try await store.setKill(k, audit: audit("kill", "purpose:triage", at: t, reason: "bad prompt")) == nil)
            #expect(try await store.kills() == [k])

            let k2 = KillSwitch(scope: .purpose, name: "triage", reason: "still bad", actor: "bob", createdAt: t.addingTimeInterval(1))
            let replaced = try await store.setKill(k2, audit: audit("kill", "purpose:triage", at: t.addingTimeInterval(1), actor: "bob"))
            #expect(replaced == k)
            let p = KillSwitch(scope: .provider, name: "openai", reason: "incident", actor: "carol", createdAt: t.addingTimeInterval(2))
            try await store.setKill(p, audit: audit("kill", "provider:openai", at: t.addingTimeInterval(2), actor: "carol"))
            #expect(try await store.kills() == [p, k2])  // by scope, then name

            #expect(try await store.removeKill(scope: .model, name: "nope", audit: audit("unkill", "model:nope", at: t.addingTimeInterval(3))) == nil)
            let removed = try await store.removeKill(
                scope: .purpose, name: "triage", audit: audit("unkill", "purpose:triage", at: t.addingTimeInterval(4), actor: "dave"))
            #expect(removed == k2)
            #expect(try await store.kills() == [p])

            let log = try await store.audit(limit: 10, before: nil)
            #expect(log.map(\.action) == ["unkill", "kill", "kill", "kill"])
            #expect(log.map(\.actor) == ["dave", "carol", "bob", "alice"])
            #expect(log.last?.reason == "bad prompt")
            #expect(log.last?.at == t)
            let page = try await store.audit(limit: 2, before: log[1].id)
            #expect(page.map(\.actor) == ["bob", "alice"])
            try await store.appendAudit(audit("flags.set", "triage.variants", at: t.addingTimeInterval(5)))
            #expect(try await store.audit(limit: 1, before: nil).first?.action == "flags.set")
        }
    }

    /// Many nodes flipping the same switch at once: every change is audited, none is lost.
    @Test(arguments: StoreBackend.available)
    func concurrentChangesAreAllAudited(_ backend: StoreBackend) async throws {
        try await withStore(backend) { fixture, store in
            let other = backend == .postgres ? try await fixture.open() : store
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<20 {
                    let s = i % 2 == 0 ? store : other
                    group.addTask {
                        let t = storedNow(Double(i) / 1000)
                        let k = KillSwitch(scope: .model, name: "fast", reason: "r\(i)", actor: "n\(i)", createdAt: t)
                        try await s.setKill(k, audit: AuditEntry(
                            id: IDs.make("aud", at: t) + "-\(i)", at: t, actor: "n\(i)", action: "kill", target: "model:fast"))
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await store.kills().count == 1)
            #expect(try await store.audit(limit: 100, before: nil).count == 20)
            if backend == .postgres { try await other.close() }
        }
    }
}
