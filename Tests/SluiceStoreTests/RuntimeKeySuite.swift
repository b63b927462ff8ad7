import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

@Suite struct RuntimeKeySuite {
    /// Create, revoke and rotate each write their audit entry with them; a revoked
    /// key can be neither revoked again nor rotated.
    @Test(arguments: StoreBackend.available)
    func keysAreStoredRotatedAndRevokedWithAudit(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let t = storedNow()
            let key = RuntimeKey(
                id: "key_1", name: "bot", team: "billing", purposes: ["triage"], models: ["fast"], keyHash: "h1", prefix: "sk-sl-abcd…",
                expiresAt: t.addingTimeInterval(3600), dailyBudgetUSD: 1.5, monthlyBudgetUSD: 20, rpm: 60, tpm: 1000,
                metadata: #"{"owner":"bob"}"#, createdAt: t)
            try await store.createRuntimeKey(key, audit: AuditEntry(id: "aud_1", at: t, actor: "a", action: "keys.create", target: "key:key_1"))
            #expect(try await store.runtimeKeys() == [key])
            #expect(try await store.runtimeKey(id: "key_1") == key)
            #expect(try await store.runtimeKey(id: "nope") == nil)

            let until = t.addingTimeInterval(60)
            let rotated = try #require(
                try await store.rotateRuntimeKey(
                    id: "key_1", keyHash: "h2", prefix: "sk-sl-efgh…", previousValidUntil: until,
                    audit: AuditEntry(id: "aud_2", at: t, actor: "a", action: "keys.rotate", target: "key:key_1")))
            #expect(rotated.keyHash == "h2" && rotated.previousHash == "h1" && rotated.previousValidUntil == until)
            #expect(try await store.runtimeKey(id: "key_1") == rotated)
            let plain = try #require(
                try await store.rotateRuntimeKey(
                    id: "key_1", keyHash: "h3", prefix: "sk-sl-ijkl…", previousValidUntil: nil,
                    audit: AuditEntry(id: "aud_3", at: t, actor: "a", action: "keys.rotate", target: "key:key_1")))
            #expect(plain.previousHash == nil && plain.previousValidUntil == nil && plain.keyHash == "h3")

            let revoked = try #require(
                try await store.revokeRuntimeKey(
                    id: "key_1", at: t, audit: AuditEntry(id: "aud_4", at: t, actor: "a", action: "keys.revoke", target: "key:key_1")))
            #expect(revoked.revokedAt == t)
            #expect(try await store.runtimeKey(id: "key_1")?.revokedAt == t)
            let late = AuditEntry(id: "aud_5", at: t, actor: "a", action: "keys.revoke", target: "key:key_1")
            #expect(try await store.revokeRuntimeKey(id: "key_1", at: t, audit: late) == nil)
            #expect(try await store.rotateRuntimeKey(id: "key_1", keyHash: "h4", prefix: "p", previousValidUntil: nil, audit: late) == nil)
            #expect(try await store.audit(limit: 10, before: nil).map(\.id) == ["aud_4", "aud_3", "aud_2", "aud_1"])
        }
    }
}
