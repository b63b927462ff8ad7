import Foundation
import Testing
@testable import SluiceEngine
import SluiceStore

@Suite struct ConfigTests {
    func errorText(_ yaml: String, env: [String: String] = [:]) -> String? {
        do {
            _ = try ConfigLoader.parse(yaml, environment: env)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func defaultsServeSimulatedModels() throws {
        let c = try ConfigLoader.load(path: nil, environment: [:])
        #expect(c.server.host == "127.0.0.1")
        #expect(c.server.port == 8080)
        #expect(c.server.maxBodyBytes == 4 * 1024 * 1024)
        #expect(c.storage.url == .sqlite(path: "./sluice.db"))
        #expect(c.models.map(\.name) == ["sim-small", "sim-large"])
        #expect(c.providers.map(\.name) == ["sim"])
    }

    @Test func openAIKeyAddsTheOpenAIProvider() throws {
        let c = try ConfigLoader.load(path: nil, environment: ["OPENAI_API_KEY": "sk-test-123"])
        #expect(c.providers.map(\.name) == ["sim", "openai"])
        #expect(c.providers[1].apiKey == "sk-test-123")
    }

    @Test func fullConfigParses() throws {
        let yaml = """
            server: { host: 0.0.0.0, port: 9000, max_body_bytes: 1000 }
            storage: { url: "sqlite:///tmp/x.db", log_bodies: hash }
            auth:
              admin_key: ${ADMIN}
              keys:
                - { name: web, key: "${WEB_KEY}", purposes: [triage] }
            providers:
              up: { type: openai_compatible, base_url: "http://127.0.0.1:1/v1", headers: { X-Team: a }, timeout_ms: 5000 }
              sim: { type: simulated, latency_ms: 5, chunk_ms: 1 }
            models:
              fast:
                targets:
                  - { provider: up, model: gpt-4o-mini-2024-07-18, weight: 3 }
                  - { provider: sim, model: sim-small, priority: 2 }
            pricing:
              gpt-4o-mini-2024-07-18: { input: 0.15, output: 0.60, cached_input: 0.075 }
            """
        let c = try ConfigLoader.parse(yaml, environment: ["ADMIN": "admin-secret-1", "WEB_KEY": "web-secret-1"])
        #expect(c.server.port == 9000)
        #expect(c.storage.logBodies == .hash)
        #expect(c.auth.adminKey == "admin-secret-1")
        #expect(c.auth.keys.first?.purposes == ["triage"])
        #expect(c.providers.first?.headers.first?.1 == "a")
        #expect(c.models.first?.targets.count == 2)
        #expect(c.models.first?.targets.last?.priority == 2)
        #expect(c.pricing["gpt-4o-mini-2024-07-18"]?.cachedInput == 0.075)
        #expect(c.models.map(\.name) == ["fast", "sim-small", "sim-large"])
    }

    @Test func unknownKeyNamesKeyAndLine() {
        let text = errorText("server:\n  host: 127.0.0.1\n  prot: 80\n")
        #expect(text?.contains("server.prot (line 3)") == true, "\(text ?? "")")
        #expect(text?.contains("unknown key 'prot'") == true)
    }

    @Test func wrongTypeNamesKeyAndLine() {
        let text = errorText("server:\n  port: eighty\n")
        #expect(text == "server.port (line 2): expected an integer, got 'eighty'")
    }

    @Test func missingEnvironmentVariableIsNamed() {
        let text = errorText("auth:\n  admin_key: ${SLUICE_ADMIN_KEY}\n")
        #expect(text?.contains("environment variable SLUICE_ADMIN_KEY is not set") == true, "\(text ?? "")")
        #expect(text?.contains("line 2") == true)
    }

    @Test func specSkeletonStyleReferencesInFlowMappings() throws {
        let yaml = """
            auth:
              keys:
                - { name: web, key: ${WEB_KEY}, purposes: ["*"] }
            providers:
              openai:    { type: openai, api_key: ${OPENAI_API_KEY} }
            """
        let c = try ConfigLoader.parse(yaml, environment: ["WEB_KEY": "web-key-1234", "OPENAI_API_KEY": "sk-1"])
        #expect(c.auth.keys.first?.key == "web-key-1234")
        #expect(c.providers.first?.apiKey == "sk-1")
        #expect(c.auth.keys.first?.purposes == ["*"])
    }

    @Test func interpolationWithDefault() throws {
        let c = try ConfigLoader.parse("server:\n  port: ${PORT:-9100}\n", environment: [:])
        #expect(c.server.port == 9100)
    }

    @Test(arguments: [
        ("providers:\n  x: { type: nope }\n", "unknown provider type 'nope'"),
        ("providers:\n  x: { base_url: \"http://a\" }\n", "needs a 'type'"),
        ("providers:\n  x: { type: openai_compatible }\n", "needs a base_url"),
        ("providers:\n  x: { type: openai }\n", "needs an api_key"),
        ("models:\n  m:\n    targets:\n      - { provider: ghost, model: a }\n", "unknown provider 'ghost'"),
        ("storage: { url: \"mysql://x\" }\n", "must start with sqlite:// or postgres://"),
        ("storage: { log_bodies: some }\n", "expected one of full, redacted, hash"),
        ("storage: { url: \"postgres://u:pw@h/db?bogus=1\" }\n", "unknown parameter 'bogus'"),
        ("storage: { url: \"postgres://u:pw@h/db?sslmode=maybe\" }\n", "sslmode must be one of"),
        ("storage: { url: \"postgres://u:pw@h/db?schema=Bad-Name\" }\n", "schema must be lower-case"),
        ("storage: { url: \"postgres://h/db\" }\n", "the user is missing"),
        ("tasks: { workers: -1 }\n", "workers must be 0…256"),
        ("providers:\n  az: { type: azure_openai, api_key: k }\n", "needs a base_url (https://RESOURCE.openai.azure.com)"),
        ("providers:\n  az: { type: azure_openai, base_url: \"https://x.openai.azure.com\" }\n", "azure_openai needs an api_key"),
        ("providers:\n  o: { type: openai, api_key: k, api_version: \"2024-10-21\" }\n", "applies only to azure_openai"),
        ("providers:\n  az: { type: azure_openai, base_url: \"https://x\", api_key: k, api_version: \"a b\" }\n", "api_version must look like"),
        ("retry: { max_attempts: 0 }\n", "max_attempts must be 1…20"),
        ("retry: { base_ms: 500, max_ms: 100 }\n", "must be at least base_ms"),
        ("breaker: { error_rate: 1.5 }\n", "error_rate must be in (0, 1]"),
        ("breaker: { cooldown: 3 }\n", "cooldown"),
        ("purposes:\n  triage: { timeout_ms: -5 }\n", "timeout_ms must be positive"),
        ("purposes:\n  triage: { fallback_response: [1] }\n", "fallback_response must be a text or a response object"),
        ("purposes:\n  triage: { variants: { v3: 70, v4: 40 } }\n", "must total at most 100"),
        ("purposes:\n  triage: { variants: { v3: { percent: 10 } } }\n", "needs prompt_version and/or model"),
        ("purposes:\n  triage: { variants: { base: 10 } }\n", "variant name 'base'"),
        ("purposes:\n  triage: { daily_budget_usd: 0 }\n", "daily_budget_usd must be positive"),
        ("providers:\n  l: { type: openai_compatible, base_url: \"http://x\" }\nmodels:\n  local: { targets: [ { provider: l, model: my-llama } ] }\npurposes:\n  triage: { model: local, daily_budget_usd: 5 }\n", "unpriced target 'l/my-llama'"),
        ("alerts:\n  rules: [ { metric: spend_spike, above: 3 } ]\n", "unknown metric 'spend_spike'"),
        ("auth:\n  keys: [ { name: a, key: abcdefgh123, rpm: 0 } ]\n", "rpm must be positive"),
        ("providers:\n  p: { type: openai_compatible, base_url: \"http://x\", read_timeout_ms: 0 }\n", "read_timeout_ms must be positive"),
        ("auth:\n  keys:\n    - { name: a, key: short }\n", "at least 8 characters"),
        ("server: [1, 2]\n", "expected a mapping"),
        ("server: {\n", "invalid YAML"),
        ("auth:\n  keys:\n    - { name: a, key: same-secret-1 }\n    - { name: b, key: same-secret-1 }\n", "same secret as key 'a'"),
        ("auth:\n  admin_key: same-secret-1\n  keys:\n    - { name: a, key: same-secret-1 }\n", "same secret as admin_key"),
    ])
    func invalidConfigsSayWhy(yaml: String, expected: String) {
        let text = errorText(yaml)
        #expect(text?.contains(expected) == true, "\(text ?? "no error")")
    }

    /// A PostgreSQL URL is parsed whole at load; a password never shows in an error.
    @Test func postgresURLsParseAndErrorsHideThePassword() throws {
        let c = try ConfigLoader.parse(
            "storage: { url: \"postgresql://sluice:p%40ss@db.internal:6543/gw?schema=team_a&sslmode=disable&pool_max=40\" }\n",
            environment: [:])
        guard case .postgres(let url) = c.storage.url else {
            Issue.record("not postgres: \(c.storage.url)")
            return
        }
        #expect(url.host == "db.internal" && url.port == 6543 && url.user == "sluice" && url.password == "p@ss")
        #expect(url.database == "gw" && url.schema == "team_a" && url.sslMode == .disable && url.poolMax == 40)
        #expect(url.redacted == "postgres://sluice:***@db.internal:6543/gw?schema=team_a")
        let text = errorText("storage: { url: \"postgress://sluice:hunter2secret@db/x\" }\n")
        #expect(text?.contains("must start with") == true)
        #expect(text?.contains("hunter2secret") == false, "\(text ?? "")")
    }

    /// `storage.encryption_key` takes base64 of 32 bytes (from the environment too); a bad one
    /// says how to make one and never echoes the value.
    @Test func encryptionKeyParsesAndErrorsSayHowToMakeOne() throws {
        let key = EncryptionKey.random()
        let c = try ConfigLoader.parse(
            "storage: { encryption_key: \"${SLUICE_KEY}\" }\n", environment: ["SLUICE_KEY": key.base64])
        #expect(c.storage.encryptionKey == key)
        #expect(c.storage.bodyCipher != nil)
        #expect(try ConfigLoader.parse("storage: { log_bodies: full }\n", environment: [:]).storage.bodyCipher == nil)
        #expect(!"\(c.storage)".contains(key.base64))
        let short = Data(repeating: 7, count: 16).base64EncodedString()
        for bad in [short, "not-base64-at-all!!"] {
            let text = errorText("storage: { encryption_key: \"\(bad)\" }\n")
            #expect(text?.contains("storage.encryption_key") == true, "\(text ?? "no error")")
            #expect(text?.contains("openssl rand -base64 32") == true, "\(text ?? "no error")")
            #expect(text?.contains(bad) == false, "\(text ?? "")")
        }
    }
}

@Suite struct ResilienceConfigTests {
    @Test func retryBreakerAndPurposesParse() throws {
        let c = try ConfigLoader.parse(
            """
            retry:    { max_attempts: 4, base_ms: 100, max_ms: 2000 }
            breaker:  { window_s: 20, min_calls: 5, error_rate: 0.3, cooldown_s: 10 }
            providers:
              up: { type: openai_compatible, base_url: "http://127.0.0.1:1/v1", connect_timeout_ms: 800, read_timeout_ms: 9000 }
            purposes:
              triage:
                timeout_ms: 8000
                ttft_timeout_ms: 1500
                retry: { max_attempts: 2 }
                fallback_response: "Sorry, try again later."
              summary:
                fallback_response: { id: x, choices: [ { index: 0, message: { role: assistant, content: "n/a" } } ] }
            """, environment: [:])
        #expect(c.retry.maxAttempts == 4 && c.retry.baseMs == 100 && c.retry.maxMs == 2000)
        #expect(c.breaker.windowS == 20 && c.breaker.minCalls == 5 && c.breaker.errorRate == 0.3 && c.breaker.cooldownS == 10)
        #expect(c.providers.first { $0.name == "up" }?.connectTimeoutMs == 800)
        #expect(c.providers.first { $0.name == "up" }?.readTimeoutMs == 9000)
        let triage = try #require(c.purposes["triage"])
        #expect(triage.timeoutMs == 8000 && triage.ttftTimeoutMs == 1500)
        #expect(triage.retry?.maxAttempts == 2)
        #expect(triage.fallbackResponse?.stringValue == "Sorry, try again later.")
        let policy = CallPolicy(config: c, purpose: "triage")
        #expect(policy.retry.settings.maxAttempts == 2)
        #expect(policy.timeout == .milliseconds(8000))
        #expect(CallPolicy(config: c, purpose: "other").retry.settings.maxAttempts == 4)
        #expect(c.purposes["summary"]?.fallbackResponse?["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue == "n/a")
    }
}

@Suite struct DocumentedConfigTests {
    /// The config shown in README parses as written.
    @Test func readmeConfigParses() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "## A config").dropFirst().first)
        let yaml = try #require(section.components(separatedBy: "```yaml\n").dropFirst().first?.components(separatedBy: "```").first)
        let c = try ConfigLoader.parse(
            yaml, environment: ["SLUICE_ADMIN_KEY": "admin-key-12345", "WEB_KEY": "web-key-12345", "OPENAI_API_KEY": "sk-x"])
        #expect(c.purposes["triage"]?.timeoutMs == 8000)
        #expect(c.models.contains { $0.name == "fast" })
    }
}

/// `cascade:` is checked when the config loads.
@Suite struct CascadeConfigTests {
    static let base = """
        providers: { sim: { type: simulated } }
        models:
          small: { targets: [ { provider: sim, model: sim-small } ] }
          large: { targets: [ { provider: sim, model: sim-large } ] }
        """

    @Test func aCascadeNeedsTwoKnownModelsAndStartsAtTheFirst() throws {
        let ok = try ConfigLoader.parse(Self.base + "\npurposes:\n  p: { cascade: [small, large] }\n", environment: [:])
        #expect(ok.purposes["p"]?.cascade == ["small", "large"] && ok.purposes["p"]?.model == "small")
        for (yaml, expected) in [
            ("  p: { cascade: [small] }", "at least two different models"),
            ("  p: { cascade: [small, small] }", "at least two different models"),
            ("  p: { cascade: [small, huge] }", "unknown model 'huge' in the cascade"),
            ("  p: { model: large, cascade: [small, large] }", "is not the cascade's first model"),
        ] {
            #expect(throws: (any Error).self) { try ConfigLoader.parse(Self.base + "\npurposes:\n" + yaml + "\n", environment: [:]) }
            do { _ = try ConfigLoader.parse(Self.base + "\npurposes:\n" + yaml + "\n", environment: [:]) } catch {
                #expect("\(error)".contains(expected), "\(error)")
            }
        }
    }
}
