import SluiceCore
@testable import SluiceEngine
import Testing

@Suite struct KeyRingTests {
    @Test func openModeIsLoopbackOnly() throws {
        let ring = KeyRing(keys: [], adminKey: nil)
        #expect(ring.isOpen)
        #expect(try ring.authenticateData(key: nil, fromLoopback: true) == .openLoopback)
        #expect(try ring.authenticateData(key: "whatever-an-sdk-sends", fromLoopback: true) == .openLoopback)
        #expect(throws: SluiceError.self) { try ring.authenticateData(key: nil, fromLoopback: false) }
        #expect(try ring.authenticateAdmin(key: nil, fromLoopback: true).isAdmin)
        #expect(throws: SluiceError.self) { try ring.authenticateAdmin(key: nil, fromLoopback: false) }
    }

    @Test func keysAreCheckedByHashAndScoped() throws {
        let ring = KeyRing(keys: [.init(name: "web", key: "web-key-123456", purposes: ["triage"])], adminKey: "admin-key-123456")
        #expect(!ring.isOpen)
        let id = try ring.authenticateData(key: "web-key-123456", fromLoopback: false)
        #expect(id.keyName == "web")
        #expect(id.allows(purpose: "triage"))
        #expect(!id.allows(purpose: "billing"))
        do {
            _ = try ring.authenticateData(key: "wrong", fromLoopback: true)
            Issue.record("accepted a wrong key")
        } catch { #expect(error.code == .invalidAPIKey) }
        do {
            _ = try ring.authenticateAdmin(key: "web-key-123456", fromLoopback: true)
            Issue.record("a data key opened an admin route")
        } catch { #expect(error.code == .forbidden) }
        #expect(try ring.authenticateAdmin(key: "admin-key-123456", fromLoopback: false).isAdmin)
        // Only hashes are kept.
        #expect(ring.storedKeys.first?.keyHash == Hashing.sha256Hex("web-key-123456"))
    }
}
