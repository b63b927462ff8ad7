import Foundation
import Testing
@testable import SluiceEngine

@Suite struct KeyPoolConfigTests {
    func providers(_ entry: String, env: [String: String] = [:]) throws -> SluiceConfig.Provider {
        try ConfigLoader.parse("providers:\n  p: \(entry)\n", environment: env).providers[0]
    }

    func errorText(_ entry: String) -> String {
        do {
            _ = try providers(entry)
            return ""
        } catch {
            return "\(error)"
        }
    }

    @Test func aPoolOfNamedWeightedKeys() throws {
        let p = try providers(
            #"{ type: openai, api_keys: [ { name: east, key: "sk-east-1111", weight: 3 }, { name: west, key: "${K2}" } ] }"#,
            env: ["K2": "sk-west-2222"])
        #expect(p.apiKeys == [.init(name: "east", key: "sk-east-1111", weight: 3), .init(name: "west", key: "sk-west-2222", weight: 1)])
        #expect(p.apiKey == "sk-east-1111")  // the first key: what batch submissions use
    }

    @Test func apiKeyBesideApiKeysJoinsThePoolAsDefault() throws {
        let p = try providers(#"{ type: anthropic, api_key: "sk-ant-one-1111", api_keys: [ { name: two, key: "sk-ant-two-2222" } ] }"#)
        #expect(p.apiKeys.map(\.name) == ["default", "two"])
        #expect(p.apiKeys[0].key == "sk-ant-one-1111")
    }

    @Test func aSingleUnnamedKeyIsDefault() throws {
        let p = try providers(#"{ type: gemini, api_keys: [ { key: "AIza-only-1111" } ] }"#)
        #expect(p.apiKeys.map(\.name) == ["default"])
    }

    @Test func noPoolWithoutApiKeys() throws {
        #expect(try providers(#"{ type: openai, api_key: "sk-single-1111" }"#).apiKeys.isEmpty)
    }

    @Test func mistakesAreActionableAndNeverShowTheSecret() {
        let dup = errorText(#"{ type: openai, api_keys: [ { name: a, key: "sk-a-11111111" }, { name: a, key: "sk-b-22222222" } ] }"#)
        #expect(dup.contains("two keys are named 'a'"))
        let unnamed = errorText(#"{ type: openai, api_keys: [ { name: a, key: "sk-a-11111111" }, { key: "sk-b-22222222" } ] }"#)
        #expect(unnamed.contains("needs a 'name'"))
        let clash = errorText(#"{ type: openai, api_key: "sk-a-11111111", api_keys: [ { name: default, key: "sk-b-22222222" } ] }"#)
        #expect(clash.contains("'default' is the name api_key takes"))
        let same = errorText(#"{ type: openai, api_keys: [ { name: a, key: "sk-a-11111111" }, { name: b, key: "sk-a-11111111" } ] }"#)
        #expect(same.contains("keys 'a' and 'b' are the same secret"))
        #expect(!same.contains("sk-a-11111111"))
        #expect(errorText(#"{ type: openai, api_keys: [ { name: a, key: "sk-a-11111111", weight: 0 } ] }"#).contains("weight must be a positive number"))
        #expect(errorText(#"{ type: openai, api_keys: [ { name: "a b", key: "sk-a-11111111" } ] }"#).contains("must be 1 to 64 letters"))
        #expect(errorText(#"{ type: openai, api_keys: [ { name: a } ] }"#).contains("needs a non-empty 'key'"))
        #expect(errorText(#"{ type: openai, api_keys: [] }"#).contains("at least one"))
        #expect(errorText(#"{ type: openai, api_keys: [ { name: a, key: k, secret: x } ] }"#).contains("unknown key 'secret'"))
        #expect(errorText(#"{ type: simulated, api_keys: [ { name: a, key: "k-11111111" } ] }"#).contains("not simulated"))
        #expect(errorText(#"{ type: bedrock, region: us-east-1, api_keys: [ { name: a, key: "k-11111111" } ] }"#).contains("not bedrock"))
    }
}
