import Foundation
import SluiceStore
import SluiceTesting
import Testing

@Suite struct FlagSuite {
    /// Changes and their audit entries commit together: old and new values, removal,
    /// no entry for an unchanged value, and nothing at all when an expectation fails.
    @Test(arguments: StoreBackend.available)
    func changesAreAuditedAndConditional(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let ids: @Sendable (Int) -> String = { "aud_\(t.millisForTest)_\($0)" }
            let first = try #require(
                try await store.changeFlags(
                    [FlagChange(key: "triage.variants", value: #"{"v3":100}"#), FlagChange(key: "triage.model", value: #""smart""#)],
                    actor: "alice", action: "flags.set", reason: "start", at: t, auditID: ids))
            #expect(first.map(\.target) == ["flag:triage.variants", "flag:triage.model"])
            #expect(first.allSatisfy { $0.oldValue == nil && $0.actor == "alice" && $0.reason == "start" && $0.at == t })
            #expect(try await store.flags() == [
                StoredFlag(key: "triage.model", value: #""smart""#, actor: "alice", updatedAt: t),
                StoredFlag(key: "triage.variants", value: #"{"v3":100}"#, actor: "alice", updatedAt: t),
            ])

            let t2 = t.addingTimeInterval(1)
            let ids2: @Sendable (Int) -> String = { "aud_\(t2.millisForTest)_\($0)" }
            let second = try #require(
                try await store.changeFlags(
                    [FlagChange(key: "triage.variants", value: #"{"v4":100}"#), FlagChange(key: "triage.model", value: #""smart""#),
                     FlagChange(key: "other.disabled", value: "true")],
                    actor: "bob", action: "flags.set", reason: nil, at: t2, auditID: ids2))
            #expect(second.count == 2)  // the unchanged model writes nothing
            #expect(second.first?.oldValue == #"{"v3":100}"# && second.first?.newValue == #"{"v4":100}"#)

            // A failed expectation changes nothing and audits nothing.
            let audited = try await store.audit(limit: 100, before: nil).count
            let refused = try await store.changeFlags(
                [FlagChange(key: "triage.model", value: nil, expected: .some(#""fast""#))],
                actor: "guard", action: "flags.rollback", reason: nil, at: t2, auditID: ids2)
            #expect(refused == nil)
            #expect(try await store.flags().count == 3)
            #expect(try await store.audit(limit: 100, before: nil).count == audited)

            let t3 = t.addingTimeInterval(2)
            let removed = try #require(
                try await store.changeFlags(
                    [FlagChange(key: "triage.model", value: nil, expected: .some(#""smart""#)),
                     FlagChange(key: "missing.model", value: nil, expected: .some(nil))],
                    actor: "guard", action: "flags.rollback", reason: "breach", at: t3, auditID: { "aud_z\($0)" }))
            #expect(removed.count == 1 && removed[0].oldValue == #""smart""# && removed[0].newValue == nil)
            #expect(try await store.flags().map(\.key) == ["other.disabled", "triage.variants"])
            #expect(try await store.audit(limit: 100, before: nil).count == audited + 1)
        }
    }
}

extension Date {
    var millisForTest: Int64 { Int64((timeIntervalSince1970 * 1000).rounded(.down)) }
}
