import SluiceCore
import SluiceJSONSchema
import Testing

@Suite struct ErrorMessageTests {
    static let label = #"""
        {"type":"object","required":["label","score"],"additionalProperties":false,
         "properties":{"label":{"enum":["bug","feature"]},"score":{"type":"integer","minimum":0,"maximum":5},
                       "tags":{"type":"array","items":{"type":"string"}}}}
        """#

    @Test func theBriefsExamples() throws {
        #expect(try messages(Self.label, #"{"label":"bug","score":7}"#) == ["/score: 7 is greater than the maximum 5"])
        #expect(try messages(Self.label, #"{"score":1}"#) == ["/: missing required property 'label'"])
        #expect(try messages(Self.label, #"{"label":"bug","score":1,"tags":["a",2]}"#) == ["/tags/1: expected string, got number"])
        #expect(try messages(Self.label, #"{"label":"bugg","score":1}"#) == ["/label: 'bugg' is not one of 'bug', 'feature'"])
    }

    @Test func errorsCarryPathKeywordAndReason() throws {
        let errors = try schema(Self.label).validate(try JSON.parse(#"{"label":"bug","score":2.5,"extra":1}"#))
        #expect(errors.count == 2)
        #expect(errors[0] == ValidationError(instancePath: "/score", keyword: "type", reason: "expected integer, got number"))
        #expect(errors[1].instancePath == "")
        #expect(errors[1].keyword == "additionalProperties")
        #expect(errors[1].description == "/: property 'extra' is not allowed")
    }

    @Test func nestedPathsEscapeSlashAndTilde() throws {
        let s = #"{"properties":{"items":{"items":{"properties":{"a/b~c":{"type":"string"}}}}}}"#
        #expect(try messages(s, #"{"items":[{},{},{"a/b~c":1}]}"#) == ["/items/2/a~1b~0c: expected string, got number"])
    }

    @Test(arguments: [
        (#"{"minimum":3}"#, "1", "/: 1 is less than the minimum 3"),
        (#"{"exclusiveMaximum":3}"#, "3", "/: 3 is not less than the exclusive maximum 3"),
        (#"{"exclusiveMinimum":3}"#, "3.0", "/: 3.0 is not greater than the exclusive minimum 3"),
        (#"{"multipleOf":0.5}"#, "1.2", "/: 1.2 is not a multiple of 0.5"),
        (#"{"maxLength":2}"#, #""abc""#, "/: 'abc' is longer than 2 characters (3)"),
        (#"{"minLength":2}"#, #""a""#, "/: 'a' is shorter than 2 characters (1)"),
        (#"{"pattern":"^[a-z]+$"}"#, #""A1""#, "/: 'A1' does not match the pattern '^[a-z]+$'"),
        (#"{"const":{"a":1}}"#, #"{"a":2}"#, #"/: {"a":2} is not the constant {"a":1}"#),
        (#"{"enum":["only"]}"#, #""other""#, "/: 'other' is not 'only'"),
        (#"{"type":["string","null"]}"#, "1", "/: expected string or null, got number"),
        (#"{"maxItems":1}"#, "[1,2]", "/: array has 2 items, more than the maximum 1"),
        (#"{"minItems":2}"#, "[1]", "/: array has 1 item, fewer than the minimum 2"),
        (#"{"uniqueItems":true}"#, "[1,2,1.0]", "/: items 0 and 2 are equal; items must be unique"),
        (#"{"contains":{"type":"string"}}"#, "[1]", "/: no item matches the 'contains' schema"),
        (#"{"contains":{"type":"string"},"maxContains":1}"#, #"["a","b"]"#,
         "/: 2 items match the 'contains' schema, more than the maximum 1"),
        (#"{"maxProperties":1}"#, #"{"a":1,"b":2}"#, "/: object has 2 properties, more than the maximum 1"),
        (#"{"dependentRequired":{"a":["b"]}}"#, #"{"a":1}"#, "/: missing property 'b', required when 'a' is present"),
        (#"{"propertyNames":{"pattern":"^[a-z]+$"}}"#, #"{"Ab":1}"#,
         "/: invalid property name: 'Ab' does not match the pattern '^[a-z]+$'"),
        (#"{"not":{"type":"string"}}"#, #""x""#, "/: must not match the schema in 'not'"),
        (#"{"prefixItems":[{}],"items":false}"#, "[1,2]", "/: array has 2 items, only the first 1 are allowed"),
        (#"{"unevaluatedProperties":false,"allOf":[{"properties":{"a":true}}]}"#, #"{"a":1,"b":2}"#,
         "/: property 'b' is not allowed (no keyword evaluates it)"),
        (#"{"properties":{"a":false}}"#, #"{"a":1}"#, "/: property 'a' is not allowed"),
        (##"{"items":{"$ref":"#/$defs/n"},"$defs":{"n":{"type":"number"}}}"##, #"[1,"x"]"#, "/1: expected number, got string"),
        ("false", "1", "/: no value is allowed here"),
    ])
    func keywordWording(schemaText: String, instance: String, expected: String) throws {
        #expect(try messages(schemaText, instance) == [expected])
    }

    @Test func anyOfAndOneOfQuoteEachBranch() throws {
        let anyOf = #"{"properties":{"v":{"anyOf":[{"type":"string"},{"minimum":5}]}}}"#
        #expect(
            try messages(anyOf, #"{"v":3}"#) == [
                "/v: does not match any of the 2 schemas in anyOf: [0] /v: expected string, got number; [1] /v: 3 is less than the minimum 5"
            ])
        let oneOf = #"{"oneOf":[{"type":"integer"},{"minimum":0}]}"#
        #expect(try messages(oneOf, "1") == ["/: matches 2 schemas in oneOf ([0], [1]), but must match exactly one"])
    }

    @Test func thenAndElseReportTheirOwnErrors() throws {
        let s = #"{"if":{"properties":{"kind":{"const":"a"}}},"then":{"required":["a"]},"else":{"required":["b"]}}"#
        #expect(try messages(s, #"{"kind":"a"}"#) == ["/: missing required property 'a'"])
        #expect(try messages(s, #"{"kind":"z"}"#) == ["/: missing required property 'b'"])
    }

    @Test func longValuesAreCut() throws {
        let long = String(repeating: "x", count: 100)
        let message = try messages(#"{"const":"y"}"#, "\"\(long)\"")[0]
        #expect(message.contains("…"))
        #expect(message.count < 120)
    }

    @Test func allErrorsAreReported() throws {
        let s = #"{"type":"object","required":["a","b"],"properties":{"c":{"type":"string"}}}"#
        #expect(
            try messages(s, #"{"c":1}"#) == [
                "/c: expected string, got number", "/: missing required property 'a'", "/: missing required property 'b'",
            ])
    }
}
