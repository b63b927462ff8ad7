import SluiceCore
import SluiceJSONSchema
import Testing

@Suite struct PatternTests {
    @Test func patternsAreUnanchored() throws {
        #expect(try valid(#"{"pattern":"b+"}"#, #""abbc""#))
        #expect(try !valid(#"{"pattern":"^b+$"}"#, #""abbc""#))
    }

    @Test func digitAndWordClassesAreASCIIAsInECMA262() throws {
        #expect(try valid(#"{"pattern":"^\\d+$"}"#, #""042""#))
        #expect(try !valid(#"{"pattern":"^\\d+$"}"#, #""\u0664\u0662""#))  // Arabic-Indic digits
        #expect(try !valid(#"{"pattern":"^[\\d]+$"}"#, #""\u0664""#))
        #expect(try valid(#"{"pattern":"^[^\\D]+$"}"#, #""7""#))
        #expect(try !valid(#"{"pattern":"^\\w+$"}"#, #""caf\u00e9""#))
        #expect(try valid(#"{"pattern":"^\\W$"}"#, #""\u00e9""#))
        #expect(try valid(#"{"pattern":"^\\p{L}+$"}"#, #""caf\u00e9""#))  // Unicode properties still work
    }

    @Test func whitespaceIncludesTheByteOrderMark() throws {
        #expect(try valid(#"{"pattern":"^\\s$"}"#, #""\ufeff""#))
        #expect(try !valid(#"{"pattern":"^\\S$"}"#, #""\ufeff""#))
    }

    @Test func dollarDoesNotMatchBeforeATrailingNewline() throws {
        #expect(try !valid(#"{"pattern":"^abc$"}"#, #""abc\n""#))
        #expect(try valid(#"{"pattern":"^a[$]c\\$$"}"#, #""a$c$""#))
    }

    @Test func patternPropertiesUseTheSameRules() throws {
        let s = #"{"patternProperties":{"^\\d+$":{"type":"integer"}},"additionalProperties":false}"#
        #expect(try valid(s, #"{"12":1}"#))
        #expect(try messages(s, #"{"\u0661":1}"#) == ["/: property '\u{661}' is not allowed"])
    }
}
