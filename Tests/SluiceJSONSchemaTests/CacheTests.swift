import SluiceCore
import SluiceJSONSchema
import Testing

@Suite struct CacheTests {
    @Test func theSameSchemaCompilesOnceInAnyKeyOrder() throws {
        let cache = JSONSchemaCache()
        let a = try cache.schema(for: try JSON.parse(#"{"type":"string","maxLength":3}"#))
        let b = try cache.schema(for: try JSON.parse(#"{ "maxLength": 3, "type": "string" }"#))
        #expect(cache.compilations == 1)
        #expect(cache.count == 1)
        #expect(a.isValid("abc") && b.isValid("abc") && !b.isValid("abcd"))
        _ = try cache.schema(for: try JSON.parse(#"{"type":"string","maxLength":4}"#))
        #expect(cache.compilations == 2)
        #expect(cache.count == 2)
    }

    @Test func compileErrorsAreThrownAndNotCached() throws {
        let cache = JSONSchemaCache()
        let bad = try JSON.parse(##"{"$ref":"#/nowhere"}"##)
        #expect(throws: SchemaError.self) { try cache.schema(for: bad) }
        #expect(throws: SchemaError.self) { try cache.schema(for: bad) }
        #expect(cache.count == 0)
    }

    @Test func aFullCacheStartsOver() throws {
        let cache = JSONSchemaCache(capacity: 2)
        for n in 0..<3 { _ = try cache.schema(for: ["maxLength": .int(n)]) }
        #expect(cache.count == 1)
        #expect(cache.compilations == 3)
    }

    @Test func concurrentRequestsShareOneCache() async throws {
        let cache = JSONSchemaCache()
        let json = try JSON.parse(#"{"type":"object","required":["a"]}"#)
        _ = try cache.schema(for: json)
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<32 {
                group.addTask { try cache.schema(for: json).isValid(["a": 1]) }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0 })
        #expect(cache.compilations == 1)
    }
}
