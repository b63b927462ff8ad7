import Foundation
import SluiceCore
import SluiceEngine
import SluiceStore
import SluiceTesting
import Testing

/// Validated cascades: the small model answers first; exactly the answers that fail the
/// schema escalate to the large one, and the savings recorded match the ledger.
@Suite struct CascadeTests {
    static let usage = Usage(inputTokens: 10, outputTokens: 5)
    /// The same tokens at the small and at the large model's prices.
    static let smallCost = (10 * 1.0 + 5 * 2.0) / 1e6
    static let largeCost = (10 * 10.0 + 5 * 20.0) / 1e6

    static func config(small: FakeUpstream, large: FakeUpstream) -> String {
        """
        providers:
          s: { type: openai_compatible, base_url: "\(small.baseURL)" }
          l: { type: openai_compatible, base_url: "\(large.baseURL)" }
        models:
          small: { targets: [ { provider: s, model: small-model } ] }
          large: { targets: [ { provider: l, model: large-model } ] }
        pricing:
          small-model: { input: 1, output: 2 }
          large-model: { input: 10, output: 20 }
        purposes:
          extract:
            cascade: [small, large]
            repair_attempts: 0
            output_schema: { type: object, required: [ok], properties: { ok: { type: boolean } } }
        \(noRetry)
        """
    }

    @Test func exactlyTheInvalidAnswersEscalateAndTheSavingsMatchTheLedger() async throws {
        let small = try await FakeUpstream.start()
        let large = try await FakeUpstream.start()
        defer { Task { await small.stop(); await large.stop() } }
        large.setDefault(.text(#"{"ok": true}"#, usage: Self.usage))
        try await Harness.with(Self.config(small: small, large: large)) { h in
            let body = #"{"model":"small","messages":[{"role":"user","content":"extract"}]}"#
            var ids: [(String, Bool)] = []
            for i in 0..<9 {
                let invalid = i % 3 == 0
                small.enqueue(.text(invalid ? "sorry, no JSON here" : #"{"ok": false}"#, usage: Self.usage))
                let r = try await h.chat(body, headers: ["X-Sluice-Purpose": "extract"])
                #expect(r.status == 200, "\(r.text)")
                #expect(r.header("X-Sluice-Cascade") == (invalid ? "escalated" : "first"))
                #expect(r.header("X-Sluice-Model") == (invalid ? "large-model" : "small-model"))
                ids.append((try #require(r.header("X-Sluice-Call-Id")), invalid))
            }
            #expect(large.requestCount == 3)
            var savedFromRecords = 0.0
            for (id, invalid) in ids {
                let record = try await h.record(id)
                #expect(record.attempts.count == (invalid ? 2 : 1))
                #expect(record.attempts.map(\.model) == (invalid ? ["small-model", "large-model"] : ["small-model"]))
                let cost = try #require(record.costUSD)
                #expect(abs(cost - (invalid ? Self.smallCost + Self.largeCost : Self.smallCost)) < 1e-12)
                #expect(abs(record.savedUSD - (invalid ? 0 : Self.largeCost - Self.smallCost)) < 1e-12)
                savedFromRecords += record.savedUSD
            }
            let summary = try await h.request(.GET, "/admin/cost-summary")
            let row = try #require(summary.json["by_purpose"]?.arrayValue?.first { $0["purpose"] == "extract" })
            let ledgerSaved = row["saved_today_usd"]?.doubleValue ?? -1
            #expect(abs(ledgerSaved - 6 * (Self.largeCost - Self.smallCost)) < 1e-9 && abs(ledgerSaved - savedFromRecords) < 1e-9)

            // A model outside the cascade is not cascaded.
            large.enqueue(.text(#"{"ok": true}"#, usage: Self.usage))
            let direct = try await h.chat(#"{"model":"large","messages":[{"role":"user","content":"x"}]}"#, headers: ["X-Sluice-Purpose": "extract"])
            #expect(direct.status == 200 && direct.header("X-Sluice-Cascade") == nil)
        }
    }

    @Test func aStreamedCallIsJudgedWholeAndReplayed() async throws {
        let small = try await FakeUpstream.start()
        let large = try await FakeUpstream.start()
        defer { Task { await small.stop(); await large.stop() } }
        small.setDefault(.text("I cannot produce JSON", usage: Self.usage))
        large.setDefault(.text(#"{"ok": true}"#, usage: Self.usage))
        try await Harness.with(Self.config(small: small, large: large)) { h in
            let body = #"{"model":"small","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"extract"}]}"#
            let r = try await h.chat(body, headers: ["X-Sluice-Purpose": "extract"])
            #expect(r.status == 200)
            #expect(r.header("X-Sluice-Cascade") == "escalated")
            #expect(r.header("content-type")?.hasPrefix("text/event-stream") == true, "\(r.headers)")
            let events = Harness.events(r.body)
            #expect(events.last == "[DONE]")
            let text = events.dropLast().compactMap { try? JSON.parse($0) }
                .compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
            #expect(text == #"{"ok": true}"#)
            #expect(events.contains { $0.contains(#""usage""#) && $0.contains(#""prompt_tokens""#) })
            #expect(small.received.first?.json?["stream"] == nil, "the cascade asks for whole answers")
        }
    }

    /// The cascade holds on `/v1/messages` and `/v1/responses` too, whole and streamed.
    @Test func messagesAndResponsesCascadeToo() async throws {
        let small = try await FakeUpstream.start()
        let large = try await FakeUpstream.start()
        defer { Task { await small.stop(); await large.stop() } }
        small.setDefault(.text("no JSON, sorry", usage: Self.usage))
        large.setDefault(.text(#"{"ok": true}"#, usage: Self.usage))
        try await Harness.with(Self.config(small: small, large: large)) { h in
            let headers = ["X-Sluice-Purpose": "extract", "anthropic-version": "2023-06-01"]
            for stream in [false, true] {
                let messages = try await h.request(
                    .POST, "/v1/messages",
                    body: #"{"model":"small","max_tokens":50,"stream":\#(stream),"messages":[{"role":"user","content":"extract"}]}"#,
                    headers: headers)
                #expect(messages.status == 200 && messages.header("X-Sluice-Cascade") == "escalated", "\(stream): \(messages.text) \(messages.headers)")
                #expect(messages.text.contains(#"{\"ok\": true}"#) || messages.text.contains(#"{"ok": true}"#), "\(messages.text)")
                let responses = try await h.request(
                    .POST, "/v1/responses", body: #"{"model":"small","stream":\#(stream),"input":"extract"}"#, headers: headers)
                #expect(responses.status == 200 && responses.header("X-Sluice-Cascade") == "escalated", "\(stream): \(responses.text)")
            }
            #expect(large.requestCount == 4)
        }
    }

    /// Purpose runs and tasks start at the cascade's first model (the purpose's model defaults to it).
    @Test func purposeRunsAndTasksCascadeToo() async throws {
        let small = try await FakeUpstream.start()
        let large = try await FakeUpstream.start()
        defer { Task { await small.stop(); await large.stop() } }
        small.setDefault(.text("no JSON, sorry", usage: Self.usage))
        large.setDefault(.text(#"{"ok": true}"#, usage: Self.usage))
        let dir = try PurposeCacheTests.promptsDir()
        try "name: ex\nversion: v1\nmessages:\n  - role: user\n    content: \"{{text}}\"\n"
            .write(toFile: dir + "/ex.prompt.yaml", atomically: true, encoding: .utf8)
        let yaml = Self.config(small: small, large: large).replacingOccurrences(of: "    cascade: [small, large]", with: "    prompt: ex\n    cascade: [small, large]")
            + "\nprompts_dir: \(dir)\n"
        try await Harness.with(yaml) { h in
            let run = try await h.request(.POST, "/v1/purposes/extract/run", body: #"{"variables":{"text":"extract"}}"#)
            #expect(run.status == 200 && run.header("X-Sluice-Cascade") == "escalated", "\(run.text)")
            let created = try await h.request(.POST, "/v1/tasks", body: #"{"purpose":"extract","variables":{"text":"extract"}}"#)
            #expect(created.status == 202, "\(created.text)")
            let task = try await GuaranteesTasksTests.ended(h, try #require(created.json["id"]?.stringValue))
            #expect(task["status"] == "succeeded", "\(task)")
            let record = try await GuaranteesTasksTests.record(h, task)
            #expect(record.attempts.map(\.model) == ["small-model", "large-model"])
            #expect(record.surface == "task")
        }
    }

    /// `cascade: {models, judge}`: a judge scoring the first answer under its minimum escalates it.
    @Test func aJudgeUnderItsMinimumEscalates() async throws {
        let small = try await FakeUpstream.start()
        let large = try await FakeUpstream.start()
        let judge = try await FakeUpstream.start()
        defer { Task { await small.stop(); await large.stop(); await judge.stop() } }
        small.setDefault(.text("meh", usage: Self.usage))
        large.setDefault(.text("a thorough answer", usage: Self.usage))
        let yaml = """
            providers:
              s: { type: openai_compatible, base_url: "\(small.baseURL)" }
              l: { type: openai_compatible, base_url: "\(large.baseURL)" }
              j: { type: openai_compatible, base_url: "\(judge.baseURL)" }
            models:
              small: { targets: [ { provider: s, model: small-model } ] }
              large: { targets: [ { provider: l, model: large-model } ] }
              judge: { targets: [ { provider: j, model: judge-model } ] }
            purposes:
              answer:
                cascade: { models: [small, large], judge: { model: judge, rubric: "The answer is thorough.", min: 0.5 } }
            \(noRetry)
            """
        try await Harness.with(yaml) { h in
            let body = #"{"model":"small","messages":[{"role":"user","content":"explain"}]}"#
            judge.enqueue(.text(#"{"score": 0.2, "reason": "too short"}"#))
            let low = try await h.chat(body, headers: ["X-Sluice-Purpose": "answer"])
            #expect(low.status == 200 && low.header("X-Sluice-Cascade") == "escalated", "\(low.text)")
            let record = try await h.record(low.header("X-Sluice-Call-Id"))
            #expect(record.guardVerdicts.first?.classifier == "judge" && record.guardVerdicts.first?.side == "cascade")
            judge.enqueue(.text(#"{"score": 0.9, "reason": "fine"}"#))
            let high = try await h.chat(body, headers: ["X-Sluice-Purpose": "answer"])
            #expect(high.header("X-Sluice-Cascade") == "first")
            #expect(large.requestCount == 1)
        }
    }

    /// `sluice eval run` evaluates a cascade like a model: the cascade's first model is its column.
    @Test func anEvalRunsTheCascadeAsAColumn() async throws {
        let small = try await FakeUpstream.start()
        let large = try await FakeUpstream.start()
        defer { Task { await small.stop(); await large.stop() } }
        small.setDefault(.text("no JSON, sorry", usage: Self.usage))
        large.setDefault(.text(#"{"ok": true}"#, usage: Self.usage))
        let dir = try PurposeCacheTests.promptsDir()
        try "name: ex\nversion: v1\nmessages:\n  - role: user\n    content: \"{{text}}\"\n"
            .write(toFile: dir + "/ex.prompt.yaml", atomically: true, encoding: .utf8)
        let yaml = Self.config(small: small, large: large).replacingOccurrences(of: "    cascade: [small, large]", with: "    prompt: ex\n    cascade: [small, large]")
            + "\nprompts_dir: \(dir)\n"
        let suite = try EvalSuite.parse(
            "name: c\npurpose: extract\nmodels: [small, large]\ncases:\n  - vars: { text: a }\n    expect: [ { schema_valid: true } ]\n  - vars: { text: b }\n    expect: [ { schema_valid: true } ]\n")
        try await Harness.with(yaml) { h in
            let plan = try EvalPlan.make(suite: suite, config: h.gateway.live.config, prompts: h.gateway.prompts.library)
            let runs = await EvalRunner(gateway: h.gateway, concurrency: 1).run(plan)
            #expect(runs.count == 4 && runs.allSatisfy(\.passed), "\(runs)")
            let cascadeCost = runs.filter { $0.model == "small" }.compactMap(\.costUSD)
            #expect(cascadeCost.count == 2 && cascadeCost.allSatisfy { abs($0 - (Self.smallCost + Self.largeCost)) < 1e-12 }, "\(cascadeCost)")
        }
    }
}
