import Foundation
import SluiceCore
@testable import SluiceEngine
import SluiceStore
import SluiceTesting
import Testing

@Suite struct RuntimeKeyRingTests {
    static func key(_ name: String, secret: String, at t: Date) -> RuntimeKey {
        RuntimeKey(
            id: "key_\(name)", name: name, purposes: ["triage"], models: ["fast"], keyHash: Hashing.sha256Hex(secret), prefix: "sk-sl-",
            rpm: 5, createdAt: t)
    }

    /// A live runtime key closes open mode for the data plane but not for admin routes,
    /// carries its scope and limits, and says why a revoked one is refused.
    @Test func runtimeKeysJoinTheRingLive() throws {
        let clock = ManualClock()
        let ring = KeyRing(keys: [], adminKey: nil, clock: clock)
        #expect(ring.isOpen)
        var k = Self.key("bot", secret: "sk-sl-one", at: clock.now())
        ring.replaceRuntimeKeys([k], now: clock.now())
        #expect(!ring.isOpen)
        #expect(try ring.authenticateAdmin(key: nil, fromLoopback: true).isAdmin)
        let id = try ring.authenticateData(key: "sk-sl-one", fromLoopback: false)
        #expect(id.keyName == "bot" && id.keyID == "key_bot" && id.allows(model: "fast") && !id.allows(model: "smart"))
        #expect(id.limits?.rpm == 5 && !id.allows(purpose: "billing"))
        #expect(throws: SluiceError.self) { try ring.authenticateData(key: "unknown", fromLoopback: true) }
        #expect(ring.runtimeIdentity(named: "bot")?.purposes == ["triage"])

        k.revokedAt = clock.now()
        ring.replaceRuntimeKeys([k], now: clock.now())
        #expect(ring.isOpen)
        do {
            _ = try ring.authenticateData(key: "sk-sl-one", fromLoopback: true)
            Issue.record("a revoked key was accepted")
        } catch { #expect(error.code == .invalidAPIKey && error.message.contains("revoked")) }
        #expect(ring.runtimeIdentity(named: "bot")?.purposes == [])
        #expect(ring.runtimeIdentity(named: "other") == nil)
    }

    @Test func secretsAreBase62WithAPrefix() {
        let a = KeyBoard.makeSecret(), b = KeyBoard.makeSecret()
        #expect(a != b && a.count == 46 && a.hasPrefix("sk-sl-"))
        #expect(a.dropFirst(6).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
        #expect(KeyBoard.prefix(of: a) == String(a.prefix(10)) + "…")
    }
}
