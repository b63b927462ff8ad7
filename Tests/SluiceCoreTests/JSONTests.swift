import Testing
@testable import SluiceCore

@Suite struct JSONTests {
    @Test func roundTripKeepsOrderNumbersAndUnknownFields() throws {
        let text = #"{"z":1,"a":[true,false,null],"n":1.50,"e":-2E+3,"s":"x\"y\\z\n","nested":{"b":{},"a":[]}}"#
        let json = try JSON.parse(text)
        #expect(json.jsonString == #"{"z":1,"a":[true,false,null],"n":1.50,"e":-2E+3,"s":"x\"y\\z\n","nested":{"b":{},"a":[]}}"#)
        #expect(json["nested"]?.objectValue?.keys == ["b", "a"])
    }

    @Test func unicodeEscapesAndSurrogates() throws {
        let json = try JSON.parse(#""caf\u00e9 \ud83d\ude00 \/""#)
        #expect(json.stringValue == "café 😀 /")
        #expect(JSON.string("tab\there\u{01}").jsonString == #""tab\there\u0001""#)
    }

    @Test(arguments: [
        ("", "empty body"), ("{", "expected a string key"), ("{\"a\" 1}", "expected ':'"), ("[1,]", "unexpected character"),
        ("01", "unexpected text"), ("\"abc", "unterminated string"), ("tru", "invalid literal"), ("{} x", "unexpected text"),
        ("\"\\ud800\"", "unpaired surrogate"), ("1.", "digits expected"),
    ])
    func rejectsMalformedInput(input: String, reason: String) {
        #expect {
            _ = try JSON.parse(input)
        } throws: { error in
            (error as? JSONParseError)?.reason.contains(reason) == true
        }
    }

    @Test func errorsCarryLineAndColumn() {
        do {
            _ = try JSON.parse("{\n  \"a\": 1,\n  \"b\": ?\n}")
            Issue.record("expected an error")
        } catch {
            #expect(error.line == 3)
            #expect(error.column == 8)
        }
    }

    @Test func depthIsBounded() {
        let deep = String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000)
        #expect(throws: JSONParseError.self) { try JSON.parse(deep) }
    }

    @Test func objectEditsKeepPosition() {
        var o: JSONObject = ["model": "a", "messages": [], "x": 1]
        o["model"] = "b"
        o["new"] = true
        o["x"] = nil
        #expect(JSON.object(o).jsonString == #"{"model":"b","messages":[],"new":true}"#)
    }

    @Test func numberAccessors() throws {
        #expect(try JSON.parse("42").intValue == 42)
        #expect(try JSON.parse("4.0").intValue == 4)
        #expect(try JSON.parse("4.5").intValue == nil)
        #expect(try JSON.parse("4.5").doubleValue == 4.5)
        #expect(JSON.double(0.25).jsonString == "0.25")
    }
}

@Suite struct JSONScaleTests {
    /// Half a million keys parse in linear time (a quadratic duplicate check would take minutes).
    @Test(.timeLimit(.minutes(1))) func manyKeysParseLinearly() throws {
        var text = "{"
        for i in 0..<200_000 { text += "\"k\(i)\":\(i)," }
        text += "\"k0\":-1}"
        let json = try JSON.parse(text)
        let obj = try #require(json.objectValue)
        #expect(obj.count == 200_000)
        #expect(obj.members[0].value == .number("-1"))
    }
}

@Suite struct JSONObjectMergeTests {
    /// Merged members follow the object's own; a key both have keeps its place with the new value.
    @Test func mergeAppendsNewKeysAndReplacesSharedOnesInPlace() {
        var a: JSONObject = ["ts": "t", "level": "info", "msg": "call"]
        a.merge(["call_id": "c1", "msg": "replaced", "cost_usd": 0.5])
        #expect(a.keys == ["ts", "level", "msg", "call_id", "cost_usd"])
        #expect(a["msg"] == "replaced" && a["call_id"] == "c1")
        var empty = JSONObject()
        empty.merge(a)
        #expect(empty == a)
    }
}
