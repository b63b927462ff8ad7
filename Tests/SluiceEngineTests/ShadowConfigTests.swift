import Foundation
import SluiceCore
import Testing
@testable import SluiceEngine

/// `purposes.NAME.shadow`: parsing, the errors that name the key, and the checks against prompts.
@Suite struct ShadowConfigTests {
    static let models = """
        providers:
          l: { type: openai_compatible, base_url: "http://x" }
        models:
          fast: { targets: [ { provider: l, model: gpt-4o-mini-2024-07-18 } ] }
          local: { targets: [ { provider: l, model: my-llama } ] }

        """

    func error(_ yaml: String) -> String? {
        do {
            _ = try ConfigLoader.parse(Self.models + yaml, environment: [:])
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func parsesEveryKey() throws {
        let c = try ConfigLoader.parse(
            Self.models + """
                purposes:
                  triage:
                    prompt: triage
                    model: fast
                    shadow: { prompt_version: v5, model: local, sample: 0.25, max_concurrency: 2 }
                  plain:
                    model: fast
                    shadow: { model: fast, sample: 1, daily_budget_usd: 1.5 }
                """, environment: [:])
        #expect(c.purposes["triage"]?.shadow == SluiceConfig.Shadow(promptVersion: "v5", model: "local", sample: 0.25, maxConcurrency: 2))
        #expect(c.purposes["plain"]?.shadow == SluiceConfig.Shadow(model: "fast", sample: 1, dailyBudgetUSD: 1.5))
        #expect(c.purposes["plain"]?.shadow?.maxConcurrency == 4)
        // The JSON form (the PURPOSE.shadow flag) reads back the same.
        let shadow = try #require(c.purposes["triage"]?.shadow)
        #expect(try SluiceConfig.Shadow.parse(shadow.json) == shadow)
    }

    @Test(arguments: [
        ("purposes:\n  t: { model: fast, shadow: { model: fast } }\n", "purposes.t.shadow (line 7): shadow needs sample"),
        ("purposes:\n  t: { model: fast, shadow: { model: fast, sample: 1.5 } }\n", "shadow.sample must be a number from 0 to 1, got 1.5"),
        ("purposes:\n  t: { model: fast, shadow: { model: fast, sample: high } }\n", "shadow.sample must be a number from 0 to 1"),
        ("purposes:\n  t: { model: fast, shadow: { sample: 0.5 } }\n", "shadow needs prompt_version and/or model"),
        ("purposes:\n  t:\n    model: fast\n    shadow: { model: fast, sample: 1, smaple: 2 }\n", "purposes.t.shadow.smaple (line 9): unknown key 'smaple'"),
        ("purposes:\n  t: { model: fast, shadow: { model: fast, sample: 1, max_concurrency: 0 } }\n", "max_concurrency must be an integer from 1 to 256"),
        ("purposes:\n  t: { model: fast, shadow: { model: fast, sample: 1, daily_budget_usd: -1 } }\n", "daily_budget_usd must be a positive number"),
        ("purposes:\n  t: { model: fast, shadow: { model: huge, sample: 1 } }\n", "purposes.t.shadow.model: unknown model 'huge'"),
        ("purposes:\n  t: { model: fast, shadow: { prompt_version: v2, sample: 1 } }\n", "purposes.t.shadow.prompt_version: a shadow prompt_version needs the purpose's prompt"),
        ("purposes:\n  t: { model: fast, shadow: { model: local, sample: 1, daily_budget_usd: 2 } }\n", "unpriced target 'l/my-llama'"),
        ("purposes:\n  t: { model: fast, shadow: [1] }\n", "expected a mapping"),
    ])
    func invalidShadowsSayWhy(yaml: String, expected: String) {
        let text = error(yaml)
        #expect(text?.contains(expected) == true, "\(text ?? "no error")")
    }

    @Test func promptVersionMustBeLoaded() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-shadow-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/triage", withIntermediateDirectories: true)
        for v in ["v1", "v2"] {
            try "version: \(v)\nmessages:\n  - role: user\n    content: \"{{t}}\"\n"
                .write(toFile: "\(dir)/triage/\(v).prompt.yaml", atomically: true, encoding: .utf8)
        }
        let library = try PromptLoader.load(directory: dir)
        func check(_ shadow: String) throws -> String? {
            let c = try ConfigLoader.parse(
                Self.models + "purposes:\n  triage: { prompt: triage, prompt_version: v1, model: fast, shadow: \(shadow) }\n",
                environment: [:])
            do {
                try ConfigLoader.validatePrompts(c, library: library)
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(try check("{ prompt_version: v2, sample: 1 }") == nil)
        #expect(try check("{ prompt_version: v2, model: local, sample: 1 }") == nil)
        let missing = try check("{ prompt_version: v9, sample: 1 }")
        #expect(missing?.contains("purposes.triage.shadow: shadow prompt_version 'v9': prompt 'triage' has no such version; versions: v1, v2") == true, "\(missing ?? "")")
    }
}
