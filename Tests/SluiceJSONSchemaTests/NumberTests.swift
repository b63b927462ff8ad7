import SluiceCore
import SluiceJSONSchema
import Testing

@Suite struct NumberTests {
    @Test(arguments: ["1", "1.0", "-0", "1e2", "1.5e1", "100000000000000000000000000000", "2E+3"])
    func integers(_ text: String) throws {
        #expect(try valid(#"{"type":"integer"}"#, text))
    }

    @Test(arguments: ["1.5", "1e-1", "0.1", "12345678901234567890.5"])
    func nonIntegers(_ text: String) throws {
        #expect(try !valid(#"{"type":"integer"}"#, text))
    }

    @Test func decimalMultiplesAreExact() throws {
        #expect(try valid(#"{"multipleOf":0.0001}"#, "0.0075"))
        #expect(try valid(#"{"multipleOf":0.01}"#, "19.99"))
        #expect(try valid(#"{"multipleOf":0.1}"#, "0.3"))
        #expect(try !valid(#"{"multipleOf":0.0001}"#, "0.00751"))
        #expect(try valid(#"{"multipleOf":5}"#, "1e30"))
        #expect(try !valid(#"{"multipleOf":7}"#, "1e30"))
        #expect(try !valid(#"{"type":"integer","multipleOf":0.123456789}"#, "1e308"))
        #expect(try valid(#"{"multipleOf":1e-5}"#, "12.34567"))
    }

    @Test func bigIntegersCompareExactly() throws {
        // Both are the same Double; the comparison must not round.
        #expect(try !valid(#"{"maximum":9007199254740992}"#, "9007199254740993"))
        #expect(try valid(#"{"maximum":9007199254740993}"#, "9007199254740993"))
        #expect(try !valid(#"{"exclusiveMinimum":98249283749234923498293171823948729348710298301928331}"#,
                           "98249283749234923498293171823948729348710298301928331"))
        #expect(try valid(#"{"minimum":-1e400}"#, "-1e399"))
        #expect(try !valid(#"{"const":9007199254740992}"#, "9007199254740993"))
    }

    @Test func equalityIsNumeric() throws {
        #expect(try valid(#"{"const":1}"#, "1.0"))
        #expect(try valid(#"{"const":100}"#, "1e2"))
        #expect(try valid(#"{"const":0}"#, "-0.0"))
        #expect(try valid(#"{"enum":[[1,{"a":2.50}]]}"#, #"[1.0,{"a":2.5}]"#))
        #expect(try valid(#"{"const":{"a":1,"b":2}}"#, #"{"b":2,"a":1}"#))
        #expect(try !valid(#"{"uniqueItems":true}"#, #"[{"a":1,"b":1},{"b":1.0,"a":1}]"#))
        #expect(try !valid(#"{"const":1}"#, "true"))
        #expect(try !valid(#"{"const":"\u00e9"}"#, #""e\u0301""#))  // code points, not canonical equivalence
    }

    @Test func boundsWithDecimalsAndNegatives() throws {
        #expect(try valid(#"{"minimum":-1.5,"maximum":0.000001}"#, "0"))
        #expect(try !valid(#"{"minimum":-1.5}"#, "-1.50001"))
        #expect(try valid(#"{"maximum":1.1}"#, "1.0999999999999999999"))
        #expect(try !valid(#"{"exclusiveMaximum":0.3}"#, "0.30"))
    }

    @Test func stringLengthCountsCodePoints() throws {
        #expect(try valid(#"{"maxLength":2}"#, #""💩💩""#))
        #expect(try !valid(#"{"minLength":3}"#, #""💩💩""#))
        #expect(try valid(#"{"maxLength":1}"#, #""é""#))  // precomposed
        #expect(try !valid(#"{"maxLength":1}"#, "\"e\u{301}\""))  // e + combining accent: 2 code points
    }
}
