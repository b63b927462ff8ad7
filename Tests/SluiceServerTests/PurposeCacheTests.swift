import Foundation
import SluiceCore
import SluiceTesting
import Testing

/// Prompts, purposes and the response cache, end to end over HTTP.
@Suite struct PurposeCacheTests {
    static func promptsDir() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-prompts-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func withTriage() throws -> String {
        let dir = try promptsDir()
        try writeTriage(dir, version: "v1", instruction: "Label.")
        return dir
    }

    static func writeTriage(_ dir: String, version: String, instruction: String) throws {
        try """
            name: triage
            version: \(version)
            temperature: 0
            messages:
              - role: system
                content: \(instruction)
              - role: user
                content: "Ticket: {{ticket}}"
            """.write(toFile: dir + "/triage.prompt.yaml", atomically: true, encoding: .utf8)
    }

    static func config(_ upstream: FakeUpstream, prompts: String) -> String {
        """
        providers:
          up: { type: openai_compatible, base_url: "\(upstream.baseURL)" }
          sim: { type: simulated }
        models:
          fast: { targets: [ { provider: up, model: gpt-4o-mini } ] }
          embed: { targets: [ { provider: sim, model: sim-embed } ] }
        prompts_dir: "\(prompts)"
        purposes:
          triage: { prompt: triage, model: fast, cache: { ttl: 1h } }
          faq: { model: fast, cache: { ttl: 1h, semantic: true, threshold: 0.9, embedding_model: embed } }
          plain: { timeout_ms: 5000 }
        \(noRetry)
        """
    }

    func run(_ h: Harness, _ purpose: String, _ body: String) async throws -> HTTPResult {
        try await h.request(.POST, "/v1/purposes/\(purpose)/run", body: body)
    }

    @Test func promptVersionAndTemplateAreInTheCacheKey() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("bug", usage: Usage(inputTokens: 1000, outputTokens: 10)))
        let dir = try Self.promptsDir()
        try Self.writeTriage(dir, version: "v1", instruction: "Label the ticket.")
        try await Harness.with(Self.config(upstream, prompts: dir)) { h in
            let first = try await run(h, "triage", #"{"variables":{"ticket":"login fails"}}"#)
            #expect(first.status == 200, "\(first.text)")
            #expect(first.json["text"] == "bug")
            #expect(first.json["prompt_version"] == "v1")
            #expect(first.json["cache"] == "miss")
            #expect(first.json["usage"]?["input_tokens"] == 1000)
            let sent = try #require(upstream.received.last?.json)
            #expect(sent["messages"]?.arrayValue?.map { $0["content"]?.stringValue ?? "" } == ["Label the ticket.", "Ticket: login fails"])
            #expect(sent["temperature"] == 0)
            #expect(upstream.received.count == 1)

            // Same variables: a hit, upstream not called, zero spend, the original cost saved.
            let second = try await run(h, "triage", #"{"variables":{"ticket":"login fails"}}"#)
            #expect(second.json["cache"] == "hit")
            #expect(second.json["text"] == "bug")
            #expect(second.json["cost_usd"]?.doubleValue == 0)
            #expect(second.header("X-Sluice-Cache") == "hit")
            #expect(upstream.received.count == 1)
            let hit = try await h.record(second.json["call_id"]?.stringValue)
            #expect(hit.cache == "hit")
            #expect(hit.promptName == "triage")
            #expect(hit.promptVersion == "v1")
            #expect(hit.costUSD == 0)
            // gpt-4o-mini: 1000 × 0.15 + 10 × 0.60 per million.
            #expect(abs(hit.savedUSD - 0.000156) < 1e-12)
            #expect(hit.attempts.isEmpty)
            #expect(hit.output == "bug")
            // The next hit records from the answer the first one kept in memory: the same.
            let third = try await run(h, "triage", #"{"variables":{"ticket":"login fails"}}"#)
            #expect(third.json["text"] == "bug")
            let thirdRecord = try await h.record(third.json["call_id"]?.stringValue)
            #expect(thirdRecord.cache == "hit")
            #expect(thirdRecord.output == "bug")

            // Other variables: a miss.
            _ = try await run(h, "triage", #"{"variables":{"ticket":"slow page"}}"#)
            #expect(upstream.received.count == 2)

            // The template edited without bumping its version: a miss, the new text sent.
            try Self.writeTriage(dir, version: "v1", instruction: "Label the ticket with one word.")
            let reload = try await h.request(.POST, "/admin/reload")
            #expect(reload.status == 200, "\(reload.text)")
            let edited = try await run(h, "triage", #"{"variables":{"ticket":"login fails"}}"#)
            #expect(edited.json["cache"] == "miss")
            #expect(upstream.received.count == 3)
            #expect(upstream.received.last?.json?["messages"]?.arrayValue?.first?["content"] == "Label the ticket with one word.")

            // A bumped version is served.
            try Self.writeTriage(dir, version: "v2", instruction: "Label it.")
            _ = try await h.request(.POST, "/admin/reload")
            let bumped = try await run(h, "triage", #"{"variables":{"ticket":"login fails"}}"#)
            #expect(bumped.json["prompt_version"] == "v2")
            #expect(bumped.json["cache"] == "miss")
            let again = try await run(h, "triage", #"{"variables":{"ticket":"login fails"}}"#)
            #expect(again.json["cache"] == "hit")

            // bypass and refresh reach the upstream; refresh stores the new answer.
            let bypass = try await run(h, "triage", #"{"variables":{"ticket":"login fails"},"cache":"bypass"}"#)
            #expect(bypass.json["cache"] == "bypass")
            #expect(upstream.received.count == 5)
            upstream.setDefault(.text("feature"))
            let refresh = try await h.request(
                .POST, "/v1/purposes/triage/run", body: #"{"variables":{"ticket":"login fails"}}"#, headers: ["X-Sluice-Cache": "refresh"])
            #expect(refresh.json["cache"] == "miss")
            #expect(upstream.received.count == 6)
            let fresh = try await run(h, "triage", #"{"variables":{"ticket":"login fails"}}"#)
            #expect(fresh.json["text"] == "feature")
            #expect(fresh.json["cache"] == "hit")

            // Missing variable: a 400 naming it, recorded.
            let missing = try await run(h, "triage", #"{"variables":{"tikcet":"typo"}}"#)
            #expect(missing.status == 400)
            #expect(missing.json["error"]?["param"] == "variables.ticket")
            #expect(missing.json["error"]?["message"]?.stringValue?.contains("'ticket'") == true)
            #expect(missing.header("X-Sluice-Call-Id") != nil)
            #expect(upstream.received.count == 6)

            // A broken file is refused on reload, naming file and line; the old set stays live.
            try "version: v3\nmessages:\n  - role: user\n    content: \"{{#x}} unclosed\"\n".write(
                toFile: dir + "/triage.prompt.yaml", atomically: true, encoding: .utf8)
            let broken = try await h.request(.POST, "/admin/reload")
            #expect(broken.status == 400)
            #expect(broken.json["error"]?["message"]?.stringValue?.contains("triage.prompt.yaml:4") == true, "\(broken.text)")
            let still = try await run(h, "triage", #"{"variables":{"ticket":"login fails"}}"#)
            #expect(still.json["prompt_version"] == "v2")

            let stats = try await h.request(.GET, "/admin/cache")
            let triage = stats.json["by_purpose"]?.arrayValue?.first { $0["purpose"] == "triage" }
            #expect(triage?["hits"] == 5, "\(stats.text)")
            #expect(triage?["misses"] == 5, "\(stats.text)")
            #expect(triage?["saved_usd"]?.doubleValue.map { $0 > 0 } == true)
            #expect(triage?["entries"]?.intValue.map { $0 >= 3 } == true)
        }
    }

    @Test func unknownPurposesAndPromptlessRunsAre400s() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let dir = try Self.promptsDir()
        try Self.writeTriage(dir, version: "v1", instruction: "Label.")
        try await Harness.with(Self.config(upstream, prompts: dir)) { h in
            let route = try await run(h, "triag", #"{"variables":{}}"#)
            #expect(route.status == 400)
            #expect(route.json["error"]?["message"]?.stringValue?.contains("Unknown purpose 'triag'") == true)
            let header = try await h.chat(simpleChat.replacingOccurrences(of: "\"fast\"", with: "\"fast\""), headers: ["X-Sluice-Purpose": "triag"])
            #expect(header.status == 400)
            #expect(header.json["error"]?["param"] == "X-Sluice-Purpose")
            #expect(try await h.chat(simpleChat, headers: ["X-Sluice-Purpose": "plain"]).status == 200)
            #expect(try await h.chat(simpleChat).status == 200)
            let promptless = try await run(h, "plain", "{}")
            #expect(promptless.status == 400)
            #expect(promptless.json["error"]?["message"]?.stringValue?.contains("has no prompt") == true)
            let badField = try await run(h, "triage", #"{"vars":{}}"#)
            #expect(badField.status == 400)
            #expect(badField.json["error"]?["param"] == "vars")
        }
    }

    @Test func rawCallsOptInAndStreamsAreServedFromTheCache() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("Cached words travel fast."))
        try await Harness.with(Self.config(upstream, prompts: try Self.withTriage())) { h in
            let body = #"{"model":"fast","messages":[{"role":"user","content":"cache me"}]}"#
            // Without opting in, raw calls are not cached.
            #expect(try await h.chat(body).header("X-Sluice-Cache") == "bypass")
            #expect(try await h.chat(body).header("X-Sluice-Cache") == "bypass")
            #expect(upstream.received.count == 2)
            let optIn = ["X-Sluice-Cache": "default"]
            #expect(try await h.chat(body, headers: optIn).header("X-Sluice-Cache") == "miss")
            let hit = try await h.chat(body, headers: optIn)
            #expect(hit.header("X-Sluice-Cache") == "hit")
            #expect(hit.json["choices"]?.arrayValue?.first?["message"]?["content"] == "Cached words travel fast.")
            #expect(upstream.received.count == 3)

            // A streaming request with the same input is served as a synthesized stream.
            let streamBody = #"{"model":"fast","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"cache me"}]}"#
            let s = try await h.chat(streamBody, headers: optIn)
            #expect(s.header("X-Sluice-Cache") == "hit")
            #expect(s.header("content-type")?.hasPrefix("text/event-stream") == true)
            let events = Harness.events(s.body)
            #expect(events.last == "[DONE]")
            let chunks = events.dropLast().compactMap { try? JSON.parse($0) }
            #expect(chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined() == "Cached words travel fast.")
            #expect(chunks.last?["usage"]?["completion_tokens"] == 7)
            #expect(upstream.received.count == 3)

            // A streamed miss is stored and serves the next identical call.
            let other = #"{"model":"fast","stream":true,"messages":[{"role":"user","content":"stream me"}]}"#
            let miss = try await h.chat(other, headers: optIn)
            #expect(miss.header("X-Sluice-Cache") == "miss")
            _ = Harness.events(miss.body)
            await h.gateway.callLog.flush()
            let replay = try await h.chat(other.replacingOccurrences(of: #""stream":true,"#, with: ""), headers: optIn)
            #expect(replay.header("X-Sluice-Cache") == "hit", "\(replay.text)")
            #expect(replay.json["choices"]?.arrayValue?.first?["message"]?["content"] == "Cached words travel fast.")
            #expect(upstream.received.count == 4)

            // A purpose with a cache caches raw calls without the header.
            let purposeBody = #"{"model":"fast","messages":[{"role":"user","content":"purpose cached"}]}"#
            _ = try await h.chat(purposeBody, headers: ["X-Sluice-Purpose": "triage"])
            #expect(try await h.chat(purposeBody, headers: ["X-Sluice-Purpose": "triage"]).header("X-Sluice-Cache") == "hit")
            // … and bypass skips it.
            #expect(try await h.chat(purposeBody, headers: ["X-Sluice-Purpose": "triage", "X-Sluice-Cache": "bypass"]).header("X-Sluice-Cache") == "bypass")
        }
    }

    @Test func semanticHitsArePerScopeAndMarked() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("Use the reset link on the sign-in page."))
        try await Harness.with(Self.config(upstream, prompts: try Self.withTriage())) { h in
            func ask(_ q: String, model: String = "fast", temperature: Double = 0) async throws -> HTTPResult {
                try await h.chat(
                    #"{"model":"\#(model)","temperature":\#(temperature),"messages":[{"role":"system","content":"Answer FAQs."},{"role":"user","content":"\#(q)"}]}"#,
                    headers: ["X-Sluice-Purpose": "faq"])
            }
            #expect(try await ask("How do I reset my password?").header("X-Sluice-Cache") == "miss")
            let paraphrase = try await ask("how can I reset my password")
            #expect(paraphrase.header("X-Sluice-Cache") == "hit")
            let similarity = try #require(paraphrase.header("X-Sluice-Cache-Similarity").flatMap(Double.init))
            #expect(similarity >= 0.9)
            let rec = try await h.record(paraphrase.header("X-Sluice-Call-Id"))
            #expect(rec.cache == "semantic_hit")
            #expect(rec.cacheSimilarity.map { $0 >= 0.9 } == true)
            #expect(upstream.received.count == 1)

            // An unrelated question misses; so does the same question with other params (another scope).
            #expect(try await ask("What are your opening hours?").header("X-Sluice-Cache") == "miss")
            #expect(try await ask("how can I reset my password", temperature: 0.7).header("X-Sluice-Cache") == "miss")
            #expect(upstream.received.count == 3)

            // The embedding calls are logged and attributed to the purpose.
            await h.gateway.callLog.flush()
            let calls = try await h.request(.GET, "/admin/calls?purpose=faq&model=embed")
            #expect((calls.json["data"]?.arrayValue?.count ?? 0) >= 4)
        }
    }
}

/// The semantic cache against a real embeddings model, when one is configured:
/// `SLUICE_TEST_EMBEDDINGS_URL` (an OpenAI-compatible base URL such as
/// `https://api.openai.com/v1`), `SLUICE_TEST_EMBEDDINGS_KEY` and optionally
/// `SLUICE_TEST_EMBEDDINGS_MODEL` (default `text-embedding-3-small`).
@Suite struct RealEmbeddingsCacheTests {
    static let env = ProcessInfo.processInfo.environment

    @Test(.enabled(if: env["SLUICE_TEST_EMBEDDINGS_URL"] != nil, "set SLUICE_TEST_EMBEDDINGS_URL to run against a real embeddings model"))
    func paraphrasesHitAndUnrelatedInputsMiss() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("Use the reset link on the sign-in page."))
        let env = Self.env
        let yaml = """
            providers:
              up: { type: openai_compatible, base_url: "\(upstream.baseURL)" }
              emb: { type: openai_compatible, base_url: "\(env["SLUICE_TEST_EMBEDDINGS_URL"] ?? "")", api_key: "\(env["SLUICE_TEST_EMBEDDINGS_KEY"] ?? "")" }
            models:
              fast: { targets: [ { provider: up, model: gpt-4o-mini } ] }
              embed: { targets: [ { provider: emb, model: \(env["SLUICE_TEST_EMBEDDINGS_MODEL"] ?? "text-embedding-3-small") } ] }
            purposes:
              faq: { model: fast, cache: { ttl: 1h, semantic: true, threshold: 0.85, embedding_model: embed } }
            """
        try await Harness.with(yaml) { h in
            func ask(_ q: String) async throws -> String? {
                try await h.chat(#"{"model":"fast","messages":[{"role":"user","content":"\#(q)"}]}"#, headers: ["X-Sluice-Purpose": "faq"])
                    .header("X-Sluice-Cache")
            }
            let first = try await ask("How do I reset my password?")
            let paraphrase = try await ask("I forgot my password, how can I reset it?")
            let unrelated = try await ask("What time does the store open on Sundays?")
            #expect(first == "miss")
            #expect(paraphrase == "hit")
            #expect(unrelated == "miss")
        }
    }
}
