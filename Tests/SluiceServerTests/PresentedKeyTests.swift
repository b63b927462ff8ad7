import HTTPTypes
import Testing

@testable import SluiceServer

/// The key a request presents: `Authorization: Bearer <key>` (the scheme in any case, blanks
/// around the key ignored) or `X-Api-Key`.
@Suite struct PresentedKeyTests {
    static func key(_ authorization: String?, apiKey: String? = nil) -> String? {
        var fields = HTTPFields()
        if let authorization { fields[.authorization] = authorization }
        if let apiKey { fields[HTTPField.Name("X-Api-Key")!] = apiKey }
        return HTTPEdge.presentedKey(fields)
    }

    @Test func bearerKeysAreReadInAnyCase() {
        #expect(Self.key("Bearer sk-abc") == "sk-abc")
        #expect(Self.key("bearer sk-abc") == "sk-abc")
        #expect(Self.key("BEARER sk-abc") == "sk-abc")
        #expect(Self.key("Bearer   sk-abc \t") == "sk-abc")
        #expect(Self.key("Bearer sk-é🙂") == "sk-é🙂")
    }

    @Test func otherSchemesAndEmptyKeysAreNone() {
        #expect(Self.key("Basic dXNlcjpwYXNz") == nil)
        #expect(Self.key("Bearer") == nil)
        #expect(Self.key("Bearer    ") == nil)
        #expect(Self.key("Bearerx sk-abc") == nil)
        #expect(Self.key("Beare! sk-abc") == nil)
        #expect(Self.key("sk-abc") == nil)
    }

    @Test func withoutAuthorizationTheApiKeyHeaderCounts() {
        #expect(Self.key(nil, apiKey: "sk-xyz") == "sk-xyz")
        #expect(Self.key(nil) == nil)
    }
}
