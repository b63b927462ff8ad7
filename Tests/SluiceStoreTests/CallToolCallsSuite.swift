import Foundation
import GRDB
import PostgresNIO
import SluiceCore
@testable import SluiceStore
import SluiceTesting
import Testing

/// Migration 021: a call's tool calls and its drift values survive a round trip on both
/// backends, and the tool calls are sealed at rest like the other bodies.
@Suite struct CallToolCallsSuite {
    static func withToolCalls(_ i: Int) -> CallRecord {
        var r = record(i, at: storedNow())
        r.toolCalls = [
            ToolCall(name: "lookup", arguments: #"{"city":"tangerine-42"}"#), ToolCall(name: "notify", arguments: nil),
        ]
        r.outputSentiment = -0.5
        r.inputChars = 1234
        r.inputScript = "cyrillic"
        return r
    }

    static func rawToolCalls(_ store: any SluiceStore, _ callID: String) async throws -> String? {
        let sql = "SELECT tool_calls FROM calls WHERE call_id = "
        if let sqlite = store as? SQLiteStore {
            return try await sqlite.pool.read { db in
                let row = try #require(try Row.fetchOne(db, sql: sql + "?", arguments: [callID]))
                return row[0]
            }
        }
        let pg = try #require(store as? PostgresStore)
        let row = try #require(try await pg.rows("raw tool calls", sql + "$1", [.text(callID)]).first)
        return try row.decode(String?.self)
    }

    @Test(arguments: StoreBackend.available)
    func toolCallsAndDriftValuesRoundTrip(_ backend: StoreBackend) async throws {
        try await withStore(backend) { _, store in
            let r = Self.withToolCalls(1)
            var plain = record(2, at: storedNow())
            plain.output = "hi"
            try await store.insert([r, plain])
            let back = try #require(try await store.get(r.callID))
            #expect(back.toolCalls == r.toolCalls)
            #expect(back.outputSentiment == -0.5 && back.inputChars == 1234 && back.inputScript == "cyrillic")
            let json = back.json
            #expect(json["tool_calls"]?.arrayValue?.first == ["name": "lookup", "arguments": #"{"city":"tangerine-42"}"#])
            #expect(json["tool_calls"]?.arrayValue?.last?["arguments"] == .null)
            let none = try #require(try await store.get(plain.callID))
            #expect(none.toolCalls.isEmpty && none.outputSentiment == nil && none.inputChars == nil)
            #expect(try await Self.rawToolCalls(store, plain.callID) == nil)
        }
    }

    @Test(arguments: StoreBackend.available)
    func toolCallsAreSealedWhenBodiesAre(_ backend: StoreBackend) async throws {
        let cipher = BodyCipher(key: .random())
        try await StoreFixture.with(backend) { fixture in
            let store = try await fixture.open(cipher: cipher)
            do {
                let r = Self.withToolCalls(3)
                try await store.insert([r])
                let raw = try #require(try await Self.rawToolCalls(store, r.callID))
                #expect(!raw.contains("tangerine-42") && !raw.contains("lookup"))
                #expect(try await store.get(r.callID)?.toolCalls == r.toolCalls)
                try await store.close()
            } catch {
                try? await store.close()
                throw error
            }
        }
    }
}
