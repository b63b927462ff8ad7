import Foundation
import SluiceCore
import SluiceTesting
import Testing

/// Whether `python3` can import the official SDKs. CI installs them (`.ci/run`);
/// on a machine without them the compatibility suite cannot run, and CI fails instead.
let pythonHasOpenAI: Bool = {
    guard let python = ChildProcess.which("python3"),
        let p = try? ChildProcess(
            executable: python, arguments: ["-c", "import openai, pytest"], environment: ProcessInfo.processInfo.environment)
    else { return false }
    return p.waitUntilExit() == 0
}()

let runningInCI = ProcessInfo.processInfo.environment["CI"] != nil

@Suite struct CompatTests {
    @Test func ciHasThePythonSDKs() {
        if runningInCI { #expect(pythonHasOpenAI, "CI must install openai and pytest (pip) for the compatibility suite") }
    }

    /// Runs `compat/` (pytest + the official openai SDK) against a real Sluice on loopback.
    @Test(.enabled(if: pythonHasOpenAI, "needs python3 with openai and pytest"))
    func openAIPythonSDKSuite() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        try await exclusively { try await runSuite(root: root) }
    }

    /// Besides the simulated models: `claude-fake` (an Anthropic upstream, text),
    /// `claude-tools` (an Anthropic upstream that calls a tool) and `gpt-tools`
    /// (an OpenAI-compatible upstream that calls a tool), so the SDKs cross the translators
    /// (and the anthropic SDK's `thinking` calls reach `claude-fake` natively);
    /// `cut-stream` (an upstream that drops its streams after three events).
    func runSuite(root: URL) async throws {
        let text = try await FakeUpstream.start()
        let claudeTools = try await FakeUpstream.start()
        let gptTools = try await FakeUpstream.start()
        let cut = try await FakeUpstream.start()
        let gptOnce = try await FakeUpstream.start()
        let oai = try await FakeUpstream.start()
        let claudeBackup = try await FakeUpstream.start()
        // test_cloud_providers: Bedrock (SigV4, checked by botocore below) and Vertex AI (JWTs checked by PyJWT at its token endpoint).
        let aws = try await FakeUpstream.start()
        let gcp = try await FakeUpstream.start(tls: true)
        defer { Task { for u in [text, claudeTools, gptTools, cut, gptOnce, oai, claudeBackup, aws, gcp] { await u.stop() } } }
        var once = FakeUpstream.Reply.text("Let me check.")
        once.toolUses = [FakeUpstream.ToolUse(id: "call_w1", name: "get_weather", input: ["city": "Paris", "unit": "c"])]
        once.toolsOnce = true
        gptOnce.setDefault(once)
        aws.setDefault(once)
        gcp.setDefault(once)
        let gcpEntry = try VertexFixture.provider(gcp, accessToken: pythonHasPyJWT ? nil : "ya29.compat-static")
        // The three-turn conversation of test_responses: turn two fails on OpenAI and falls back to Anthropic.
        oai.enqueue(FakeUpstream.Reply(), .status(500, message: "overloaded"), FakeUpstream.Reply())
        var cutReply = FakeUpstream.Reply.text("This answer will never be finished by the upstream.")
        cutReply.cutAfterEvents = 3
        cut.setDefault(cutReply)
        text.setDefault(.text("The gateway routes every call to the right model.", usage: Usage(inputTokens: 30, outputTokens: 11)))
        var tool = FakeUpstream.Reply.text("Let me check.", usage: Usage(inputTokens: 40, outputTokens: 9))
        tool.toolUses = [FakeUpstream.ToolUse(id: "call_w1", name: "get_weather", input: ["city": "Paris", "unit": "c"])]
        claudeTools.setDefault(tool)
        gptTools.setDefault(tool)
        let config = """
            providers:
              sim: { type: simulated }
              claude: { type: anthropic, base_url: "\(text.baseURL)", api_key: "sk-ant-compat-1" }
              claudetools: { type: anthropic, base_url: "\(claudeTools.baseURL)", api_key: "sk-ant-compat-2" }
              gpttools: { type: openai_compatible, base_url: "\(gptTools.baseURL)" }
              cut: { type: openai_compatible, base_url: "\(cut.baseURL)" }
              gptonce: { type: openai_compatible, base_url: "\(gptOnce.baseURL)" }
              oai: { type: openai, base_url: "\(oai.baseURL)", api_key: "sk-oai-compat" }
              claudebackup: { type: anthropic, base_url: "\(claudeBackup.baseURL)", api_key: "sk-ant-compat-3" }
              aws: \(BedrockFixture.provider(aws))
              gcp: \(gcpEntry)
            models:
              bedrock-claude: { targets: [ { provider: aws, model: "anthropic.claude-3-5-haiku-20241022-v1:0" } ] }
              vertex-gemini: { targets: [ { provider: gcp, model: gemini-2.5-flash } ] }
              vertex-claude: { targets: [ { provider: gcp, model: "claude-3-5-haiku@20241022" } ] }
              gpt-tools-once: { targets: [ { provider: gptonce, model: gpt-4o-mini-2024-07-18 } ] }
              conv:
                targets:
                  - { provider: oai, model: gpt-4.1-mini, priority: 1 }
                  - { provider: claudebackup, model: claude-sonnet-4-20250514, priority: 2 }
              claude-fake: { targets: [ { provider: claude, model: claude-sonnet-4-20250514 } ] }
              claude-tools: { targets: [ { provider: claudetools, model: claude-sonnet-4-20250514 } ] }
              gpt-tools: { targets: [ { provider: gpttools, model: gpt-4o-mini-2024-07-18 } ] }
              cut-stream: { targets: [ { provider: cut, model: gpt-4o-mini } ] }
            \(noRetry)
            """
        let claude = text
        try await Harness.with(config) { h in
            var env = ProcessInfo.processInfo.environment
            env["SLUICE_BASE_URL"] = h.base
            let out = Pipe()
            let p = try ChildProcess(
                executable: try #require(ChildProcess.which("python3")),
                arguments: ["-m", "pytest", "-q", "-p", "no:cacheprovider", root.appendingPathComponent("compat").path],
                environment: env, output: out.fileHandleForWriting.fileDescriptor)
            try out.fileHandleForWriting.close()  // the child holds its own copy; end of file when it exits
            let data = try await Task.detached { try out.fileHandleForReading.readToEnd() ?? Data() }.value
            let status = await p.waitExit()
            let text = String(decoding: data, as: UTF8.self)
            print(text)
            #expect(status == 0, "pytest failed:\n\(text)")
            #expect(text.contains("passed"))
            if pythonHasBotocore { try await BedrockFixture.expectSignaturesVerify(aws) }
            if pythonHasPyJWT { #expect(gcp.vertex.tokenRequests == 1 && gcp.vertex.rejections.isEmpty) }
            // test_responses' conversation: OpenAI served turns one and three natively (/responses), Anthropic
            // turn two; turn three's request to OpenAI carried the whole conversation, turn one included.
            let turns = oai.received.filter { $0.path.hasSuffix("/responses") }
            #expect(turns.count == 3)
            #expect(claudeBackup.received.count == 1)
            let third = try #require(turns.last?.json)
            let sent = third["input"]?.jsonString ?? ""
            #expect(sent.contains("My name is Grace.") && sent.contains("fake answer to: What is my name?"), "\(sent)")
            #expect(third["previous_response_id"] == nil && third["store"] == false)
            // test_anthropic_sdk's native calls reached the Anthropic upstream as the SDK sent them.
            let native = claude.received.filter { $0.json?["thinking"] != nil }
            #expect(native.count >= 2)
            for r in native {
                #expect(r.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14")
                #expect(r.json?["top_k"] == 5)
                #expect(r.json?["system"]?.arrayValue?.first?["cache_control"] == ["type": "ephemeral", "ttl": "1h"])
                #expect(r.json?["messages"]?.arrayValue?.first?["content"]?.arrayValue?.first?["type"] == "document")
            }
        }
    }
}
