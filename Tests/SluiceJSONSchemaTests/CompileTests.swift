import SluiceCore
import SluiceJSONSchema
import Testing

@Suite struct CompileTests {
    func compileError(_ text: String) throws -> SchemaError? {
        do {
            _ = try JSONSchema(try JSON.parse(text))
            return nil
        } catch let error as SchemaError {
            return error
        }
    }

    @Test func unresolvableRefIsACompileErrorNamingIt() throws {
        let error = try #require(try compileError(##"{"properties":{"a":{"$ref":"#/$defs/missing"}}}"##))
        #expect(error.kind == .unresolvableReference("#/$defs/missing"))
        #expect(error.schemaPath == "/properties/a")
        #expect(error.description.contains("cannot resolve $ref '#/$defs/missing'"))
    }

    @Test func remoteRefIsACompileError() throws {
        let error = try #require(try compileError(#"{"$ref":"https://example.com/other.json"}"#))
        #expect(error.kind == .unresolvableReference("https://example.com/other.json"))
        #expect(error.description.hasPrefix("invalid schema at /: cannot resolve $ref"))
    }

    @Test func unknownAnchorIsACompileError() throws {
        let error = try #require(try compileError(##"{"$defs":{"a":{"$anchor":"here"}},"$ref":"#there"}"##))
        #expect(error.kind == .unresolvableReference("#there"))
    }

    @Test(arguments: [
        (#"{"pattern":"(unclosed"}"#, SchemaError.Kind.invalidPattern("(unclosed")),
        (#"{"patternProperties":{"[":{}}}"#, .invalidPattern("[")),
        (#"{"minimum":"5"}"#, .invalidKeyword("minimum")),
        (#"{"maxLength":-1}"#, .invalidKeyword("maxLength")),
        (#"{"multipleOf":0}"#, .invalidKeyword("multipleOf")),
        (#"{"type":"text"}"#, .invalidKeyword("type")),
        (#"{"required":"a"}"#, .invalidKeyword("required")),
        (#"{"items":[{}]}"#, .invalidKeyword("items")),
        (#"{"properties":{"a":3}}"#, .notASchema),
    ])
    func malformedKeywordsAreRejected(text: String, kind: SchemaError.Kind) throws {
        #expect(try compileError(text)?.kind == kind)
    }

    @Test func integralFloatsAreAcceptedAsCounts() throws {
        #expect(try valid(#"{"maxLength":2.0}"#, #""ab""#))
        #expect(try !valid(#"{"maxLength":2.0}"#, #""abc""#))
    }

    @Test func refsResolvePointersAnchorsAndRelativeIds() throws {
        let s = #"""
            {"$id":"https://example.com/root.json",
             "$defs":{
               "a~b/c%d":{"type":"integer"},
               "named":{"$anchor":"num","type":"number"},
               "nested":{"$id":"sub/inner.json","$defs":{"s":{"type":"string"}},"$ref":"#/$defs/s"}
             },
             "properties":{
               "p":{"$ref":"#/$defs/a~0b~1c%25d"},
               "q":{"$ref":"#num"},
               "r":{"$ref":"sub/inner.json"},
               "s":{"$ref":"https://example.com/sub/inner.json#/$defs/s"}
             }}
            """#
        #expect(try valid(s, #"{"p":1,"q":1.5,"r":"x","s":"y"}"#))
        #expect(try messages(s, #"{"p":1.5,"q":"x","r":1,"s":2}"#) == [
            "/p: expected integer, got number", "/q: expected number, got string",
            "/r: expected string, got number", "/s: expected string, got number",
        ])
    }

    @Test func recursiveSchemasCompileToCycles() throws {
        let tree = ##"{"type":"object","properties":{"children":{"type":"array","items":{"$ref":"#"}}},"required":["v"]}"##
        #expect(try valid(tree, #"{"v":1,"children":[{"v":2,"children":[{"v":3}]}]}"#))
        #expect(try messages(tree, #"{"v":1,"children":[{"v":2,"children":[{}]}]}"#) == [
            "/children/0/children/0: missing required property 'v'"
        ])
    }

    @Test func aRefLoopThatNeverConsumesTheInstanceFailsInsteadOfHanging() throws {
        let s = ##"{"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"}"##
        let errors = try schema(s).validate(1)
        #expect(errors.first?.reason == "the schema refers to itself without end")
    }
}
