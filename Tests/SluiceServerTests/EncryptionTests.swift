import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// `storage.encryption_key` end to end: the admin API shows bodies, the database file does not.
@Suite struct EncryptionTests {
    @Test func adminShowsBodiesWhileTheFileHoldsCiphertext() async throws {
        let key = EncryptionKey.random()
        let yaml = "storage: { url: \"sqlite://{DB}\", encryption_key: \"${SLUICE_TEST_KEY}\" }"
        try await Harness.with(yaml, env: ["SLUICE_TEST_KEY": key.base64]) { h in
            let prompt = "the vault combination is marmalade-7731"
            let r = try await h.chat(#"{"model":"sim-small","messages":[{"role":"user","content":"\#(prompt)"}]}"#)
            let id = try #require(r.header("X-Sluice-Call-Id"))
            let rec = try await h.record(id)
            let output = try #require(rec.output)
            #expect(!output.hasPrefix(BodyCipher.prefix) && output != BodyCipher.unreadable)

            let one = try await h.request(.GET, "/admin/calls/\(id)")
            #expect(one.status == 200)
            #expect(one.json["request"]?["messages"]?.arrayValue?.first?["content"]?.stringValue == prompt)
            #expect(one.json["output"]?.stringValue == output)

            let file = try Self.databaseBytes(h.dbPath)
            #expect(file.range(of: Data("marmalade-7731".utf8)) == nil)
            if output.count >= 16 { #expect(file.range(of: Data(output.utf8)) == nil) }
            #expect(file.range(of: Data(BodyCipher.prefix.utf8)) != nil)
            #expect(!h.logs.all.contains { $0.contains(key.base64) })
        }
    }

    /// The database file and its write-ahead log, where fresh rows live until a checkpoint.
    static func databaseBytes(_ path: String) throws -> Data {
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        if let wal = try? Data(contentsOf: URL(fileURLWithPath: path + "-wal")) { data += wal }
        return data
    }
}
