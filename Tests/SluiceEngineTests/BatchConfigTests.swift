import Foundation
import SluiceCore
import Testing
@testable import SluiceEngine

/// `mode: batch`, the batch `tasks:` keys and batch prices.
@Suite struct BatchConfigTests {
    static func yaml(provider: String, purpose: String, tasks: String = "") -> String {
        """
        providers:
          up: \(provider)
        models:
          fast: { targets: [ { provider: up, model: gpt-4o-mini } ] }
        purposes:
          bulk: \(purpose)
        \(tasks)
        """
    }

    func errorText(_ yaml: String) -> String? {
        do {
            _ = try ConfigLoader.parse(yaml, environment: [:])
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func batchPurposesAndTheirKeysParse() throws {
        let c = try ConfigLoader.parse(
            Self.yaml(
                provider: #"{ type: openai, api_key: "sk-x-12345" }"#, purpose: "{ model: fast, mode: batch }",
                tasks: """
                    tasks: { batch_interval_s: 5, batch_poll_s: 2.5, batch_max: 200 }
                    pricing:
                      gpt-4o-mini: { input: 2, output: 8, batch_input: 0.9, batch_output: 3 }
                    """), environment: [:])
        #expect(c.purposes["bulk"]?.mode == .batch)
        #expect(c.batchPurposes == ["bulk"])
        #expect(c.tasks.batchIntervalS == 5 && c.tasks.batchPollS == 2.5 && c.tasks.batchMax == 200)
        #expect(c.pricing["gpt-4o-mini"] == ModelPrice(input: 2, output: 8, batchInput: 0.9, batchOutput: 3))
        let defaults = SluiceConfig.Tasks()
        #expect(defaults.batchIntervalS == 60 && defaults.batchPollS == 30 && defaults.batchMax == 1000)
        #expect(SluiceConfig.Purpose(name: "x").mode == .sync)
        let anthropic = try ConfigLoader.parse(
            Self.yaml(provider: #"{ type: anthropic, api_key: "sk-x-12345" }"#, purpose: "{ model: fast, mode: batch }"), environment: [:])
        #expect(anthropic.batchPurposes == ["bulk"])
    }

    @Test func batchModeNeedsAProviderWithABatchAPI() {
        let e = errorText(Self.yaml(provider: #"{ type: openai_compatible, base_url: "http://127.0.0.1:1/v1" }"#, purpose: "{ model: fast, mode: batch }"))
        #expect(e?.contains("purposes.bulk.mode") == true, "\(e ?? "")")
        #expect(e?.contains("provider 'up' of type openai_compatible") == true && e?.contains("openai or anthropic") == true, "\(e ?? "")")
        let sim = errorText(Self.yaml(provider: "{ type: simulated }", purpose: "{ model: fast, mode: batch }"))
        #expect(sim?.contains("of type simulated") == true)
        #expect(errorText(Self.yaml(provider: "{ type: simulated }", purpose: "{ model: fast, mode: sync }")) == nil)
        let noModel = errorText(Self.yaml(provider: #"{ type: openai, api_key: "sk-x-12345" }"#, purpose: "{ mode: batch }"))
        #expect(noModel?.contains("no model") == true, "\(noModel ?? "")")
        let bad = errorText(Self.yaml(provider: #"{ type: openai, api_key: "sk-x-12345" }"#, purpose: "{ model: fast, mode: later }"))
        #expect(bad?.contains("mode must be sync or batch") == true)
    }

    @Test func batchModeRefusesRedactionAndAPollSlowerThanTheTimeout() {
        let openai = #"{ type: openai, api_key: "sk-x-12345" }"#
        let redact = errorText(Self.yaml(provider: openai, purpose: "{ model: fast, mode: batch, pii: redact }"))
        #expect(redact?.contains("purposes.bulk.pii") == true, "\(redact ?? "")")
        let slow = errorText(Self.yaml(provider: openai, purpose: "{ model: fast, mode: batch }", tasks: "tasks: { timeout_s: 20, batch_poll_s: 30 }"))
        #expect(slow?.contains("tasks.batch_poll_s") == true, "\(slow ?? "")")
        #expect(errorText(Self.yaml(provider: openai, purpose: "{ model: fast }", tasks: "tasks: { timeout_s: 20, batch_poll_s: 30 }")) == nil)
        #expect(errorText(Self.yaml(provider: openai, purpose: "{ model: fast }", tasks: "tasks: { batch_max: 0 }"))?.contains("batch_max") == true)
    }

    @Test func batchPricesDefaultToHalfAndKeepTheCacheRatio() {
        let p = ModelPrice(input: 2, output: 8, cachedInput: 0.5)
        let usage = Usage(inputTokens: 1_000_000, outputTokens: 1_000_000, cachedTokens: 200_000)
        #expect(p.cost(of: usage) == 0.8 * 2 + 0.2 * 0.5 + 8)
        #expect(p.cost(of: usage, batch: true) == 0.8 * 1 + 0.2 * 0.25 + 4)
        #expect(p.cost(of: usage, batch: false) == p.cost(of: usage))
        let explicit = ModelPrice(input: 2, output: 8, batchInput: 1.5, batchOutput: 5)
        #expect(explicit.cost(of: Usage(inputTokens: 1_000_000, outputTokens: 1_000_000), batch: true) == 6.5)
    }
}
