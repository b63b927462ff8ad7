import Foundation
import GRDB
import PostgresNIO
import SluiceCore
@testable import SluiceStore
import SluiceTesting
import Testing

/// `storage.encryption_key`: call bodies are sealed at rest on both backends.
@Suite struct EncryptionSuite {
    static let prompt = "the secret launch code is tangerine-42"
    static let answer = "noted: tangerine-42 is safe with me"

    /// A record with both bodies set.
    static func withBodies(_ i: Int) -> CallRecord {
        var r = record(i, at: storedNow())
        r.requestBody = #"{"messages":[{"role":"user","content":"\#(prompt)"}]}"#
        r.output = answer
        return r
    }

    /// The stored `request_body` and `output` of `callID`, as the database holds them.
    static func rawBodies(_ store: any SluiceStore, _ callID: String) async throws -> (String?, String?) {
        let sql = "SELECT request_body, output FROM calls WHERE call_id = "
        if let sqlite = store as? SQLiteStore {
            return try await sqlite.pool.read { db in
                let row = try #require(try Row.fetchOne(db, sql: sql + "?", arguments: [callID]))
                return (row[0], row[1])
            }
        }
        let pg = try #require(store as? PostgresStore)
        let row = try #require(try await pg.rows("raw bodies", sql + "$1", [.text(callID)]).first)
        return try row.decode((String?, String?).self)
    }

    /// Opens a second client on the fixture's database with `cipher`, runs `body`, closes it.
    static func withClient(_ fixture: StoreFixture, cipher: BodyCipher?, _ body: (any SluiceStore) async throws -> Void) async throws {
        let store = try await fixture.open(cipher: cipher)
        do {
            try await body(store)
            try await store.close()
        } catch {
            try? await store.close()
            throw error
        }
    }

    @Test(arguments: StoreBackend.available)
    func bodiesAreSealedAtRestAndOpenWithTheKey(_ backend: StoreBackend) async throws {
        let key = EncryptionKey.random()
        try await StoreFixture.with(backend) { fixture in
            let r = Self.withBodies(1)
            try await Self.withClient(fixture, cipher: BodyCipher(key: key)) { keyed in
                try await keyed.insert([r])
                let (body, output) = try await Self.rawBodies(keyed, r.callID)
                for raw in [body, output] {
                    let text = try #require(raw)
                    #expect(text.hasPrefix(BodyCipher.prefix))
                    #expect(!text.contains("tangerine"))
                }
                #expect(try await keyed.get(r.callID) == r)
                #expect(try await keyed.list(CallFilter()).first == r)
            }
            for cipher in [nil, BodyCipher(key: .random())] {
                try await Self.withClient(fixture, cipher: cipher) { other in
                    let got = try #require(try await other.get(r.callID))
                    #expect(got.requestBody == BodyCipher.unreadable)
                    #expect(got.output == BodyCipher.unreadable)
                    #expect(got.inputHash == r.inputHash && got.usage == r.usage)
                }
            }
        }
    }

    /// Rows written before the key was set stay readable; each value gets its own nonce.
    @Test(arguments: StoreBackend.available)
    func plaintextRowsStayReadableAndNoncesDiffer(_ backend: StoreBackend) async throws {
        let cipher = BodyCipher(key: .random())
        try await StoreFixture.with(backend) { fixture in
            let old = Self.withBodies(1)
            try await Self.withClient(fixture, cipher: nil) { try await $0.insert([old]) }
            var a = Self.withBodies(2), b = Self.withBodies(3)
            a.output = nil
            try await Self.withClient(fixture, cipher: cipher) { keyed in
                try await keyed.insert([a, b])
                #expect(try await keyed.get(old.callID) == old)
                #expect(try await keyed.get(a.callID) == a)
                let rawA = try await Self.rawBodies(keyed, a.callID), rawB = try await Self.rawBodies(keyed, b.callID)
                #expect(rawA.1 == nil)
                #expect(rawA.0 != rawB.0)
                #expect(try await Self.rawBodies(keyed, old.callID).1 == Self.answer)
            }
        }
    }

    @Test func cipherRoundTripsAndRejectsTampering() throws {
        let cipher = BodyCipher(key: .random())
        let sealed = cipher.seal("héllo ✓")
        #expect(cipher.open(sealed: sealed) == "héllo ✓")
        #expect(BodyCipher.open(sealed, with: cipher) == "héllo ✓")
        #expect(BodyCipher.open("plain", with: cipher) == "plain")
        #expect(BodyCipher.open(sealed, with: nil) == BodyCipher.unreadable)
        #expect(BodyCipher.open("enc:v1:not base64!", with: cipher) == BodyCipher.unreadable)
        var bytes = Array(sealed.utf8)
        bytes[bytes.count - 6] = bytes[bytes.count - 6] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(cipher.open(sealed: String(decoding: bytes, as: UTF8.self)) == nil)
    }

    @Test func keysParseFromBase64AndNeverPrint() throws {
        let key = EncryptionKey.random()
        let parsed = try EncryptionKey.parse(base64: key.base64).get()
        #expect(parsed == key)
        #expect("\(parsed)" == "[redacted]")
        var dumped = ""
        dump(parsed, to: &dumped)
        #expect(!dumped.contains(key.base64))
        guard case .failure(let e) = EncryptionKey.parse(base64: Data(count: 16).base64EncodedString()) else {
            Issue.record("a 16-byte key parsed")
            return
        }
        #expect(e.message.contains("32 bytes") && e.message.contains("openssl rand -base64 32"))
    }
}
