import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// Batch mode end to end: tasks of a `mode: batch` purpose go through the fake's batch APIs.
@Suite struct TaskBatchTests {
    /// Prices per million tokens; the fake answers 11 input and 7 output tokens.
    static let prices: [FakeBatchAPI.API: (model: String, input: Double, output: Double)] = [
        .openAI: ("gpt-4o-mini", 2.0, 8.0), .anthropic: ("claude-haiku-4-5", 4.0, 20.0),
    ]

    /// What one fake answer costs at half the standard price.
    static func batchCost(_ api: FakeBatchAPI.API) -> Double {
        let p = prices[api]!
        return (11 * p.input + 7 * p.output) / 1_000_000 * 0.5
    }

    /// The loops stay out of the way (the batcher is driven by hand) unless `tasks` says otherwise.
    static func config(
        _ upstream: FakeUpstream, _ api: FakeBatchAPI.API, tasks: String = "{ workers: 2, timeout_s: 30, batch_interval_s: 3600, batch_poll_s: 20 }",
        extraPurposes: String = ""
    ) throws -> String {
        let p = prices[api]!
        return """
            auth:
              admin_key: admin-secret-batch-1
              keys:
                - { name: app, key: app-secret-batch-1 }
            providers:
              up: { type: \(api == .openAI ? "openai" : "anthropic"), base_url: "\(upstream.baseURL)", api_key: "sk-batch-provider-1" }
            models:
              fast: { targets: [ { provider: up, model: \(p.model) } ] }
            pricing:
              \(p.model): { input: \(p.input), output: \(p.output) }
            prompts_dir: "\(try PurposeCacheTests.withTriage())"
            purposes:
              triage: { prompt: triage, model: fast, mode: batch }
              bulk: { model: fast, mode: batch }
            \(extraPurposes)
            tasks: \(tasks)
            \(noRetry)
            """
    }

    static let app = ["Authorization": "Bearer app-secret-batch-1"]
    static let admin = ["Authorization": "Bearer admin-secret-batch-1"]

    /// Creates a task; returns its id.
    static func create(_ h: Harness, _ body: String) async throws -> String {
        let r = try await h.request(.POST, "/v1/tasks", body: body, headers: app)
        #expect(r.status == 202, "\(r.text)")
        return try #require(r.json["id"]?.stringValue)
    }

    static func triage(_ h: Harness, _ ticket: String) async throws -> String {
        try await create(h, #"{"purpose":"triage","variables":{"ticket":"\#(ticket)"}}"#)
    }

    static func task(_ h: Harness, _ id: String) async throws -> JSON {
        try await h.request(.GET, "/v1/tasks/\(id)", headers: app).json
    }

    /// Direct chat calls the upstream saw (OpenAI or Anthropic).
    static func directCalls(_ upstream: FakeUpstream) -> Int {
        upstream.received.filter { $0.path.hasSuffix("/chat/completions") || $0.path.hasSuffix("/v1/messages") }.count
    }

    @Test(arguments: [FakeBatchAPI.API.openAI, .anthropic])
    func tasksGoUpstreamAsOneBatchAndAreRecordedAtBatchPrices(_ api: FakeBatchAPI.API) async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        try await Harness.with(try Self.config(upstream, api)) { h in
            let a = try await Self.triage(h, "login fails")
            let b = try await Self.triage(h, "slow page")
            let c = try await Self.create(h, #"{"purpose":"bulk","request":{"model":"fast","messages":[{"role":"user","content":"sum it up"}]}}"#)
            // A raw request under a batch purpose must name the purpose's model.
            let other = try await h.request(
                .POST, "/v1/tasks", body: #"{"purpose":"bulk","request":{"model":"up/x","messages":[{"role":"user","content":"x"}]}}"#,
                headers: Self.app)
            #expect(other.status == 400 && other.text.contains("batch mode"), "\(other.text)")

            let submitted = await h.gateway.taskBatcher.collect()
            // Two purposes, two batches; each held its tasks; nothing went to the chat endpoint.
            #expect(submitted.map(\.purpose).sorted() == ["bulk", "triage"])
            let created = upstream.batches.created
            #expect(created.count == 2 && created.allSatisfy { $0.api == api })
            let triageBatch = try #require(submitted.first { $0.purpose == "triage" })
            #expect(Set(created.flatMap(\.customIDs)) == [a, b, c])
            #expect(created.first { $0.customIDs.contains(a) }?.requests.count == 2)
            #expect(Self.directCalls(upstream) == 0)
            let line = try #require(created.first { $0.customIDs.contains(a) }?.requests.first)
            let sent = api == .openAI ? line["body"] : line["params"]
            #expect(sent?["model"]?.stringValue == Self.prices[api]!.model)
            let said = ChatText.content(sent?["messages"]?.arrayValue?.last?["content"])
            #expect(said.contains("login fails"), "\(said)")
            if api == .openAI { #expect(line["url"] == "/v1/chat/completions" && line["method"] == "POST") }
            let running = try await Self.task(h, a)
            #expect(running["status"] == "running")

            let ended = await h.gateway.taskBatcher.poll()
            #expect(ended.count == 2 && ended.allSatisfy { $0.status == .completed })
            #expect(await h.gateway.taskBatcher.poll().isEmpty)
            var total = 0.0
            for (id, ticket) in [(a, "login fails"), (b, "slow page"), (c, "")] {
                let t = try await Self.task(h, id)
                #expect(t["status"] == "succeeded", "\(t)")
                let calls = (t["call_ids"]?.arrayValue ?? []).compactMap(\.stringValue)
                try #require(calls.count == 1)
                let record = try await h.record(calls.first)
                #expect(record.batchID == (id == c ? submitted.first { $0.purpose == "bulk" }?.id : triageBatch.id))
                #expect(record.status == .ok && record.provider == "up" && record.usage.inputTokens == 11)
                #expect(abs((record.costUSD ?? -1) - Self.batchCost(api)) < 1e-12, "\(record.costUSD ?? -1)")
                total += record.costUSD ?? 0
                if id == c {
                    #expect(t["result"]?["object"] == "chat.completion")
                    #expect(ChatText.completionText(t["result"]?.objectValue ?? [:]) == "fake answer to: sum it up")
                } else {
                    // The same result shape a sync task gets from /v1/purposes/{purpose}/run.
                    #expect(t["result"]?["text"]?.stringValue == "fake answer to: Ticket: \(ticket)")
                    #expect(t["result"]?["call_id"]?.stringValue == calls.first)
                    #expect(t["result"]?["prompt_name"] == "triage" && t["result"]?["prompt_version"] == "v1")
                    #expect(record.promptName == "triage")
                }
                let shown = try await h.request(.GET, "/admin/calls/\(calls[0])", headers: Self.admin)
                #expect(shown.json["batch_id"]?.stringValue == record.batchID)
            }
            let summary = try await h.request(.GET, "/admin/cost-summary", headers: Self.admin)
            #expect(abs((summary.json["today_usd"]?.doubleValue ?? -1) - total) < 1e-9, "\(summary.json)")
            let row = summary.json["by_purpose"]?.arrayValue?.first { $0["purpose"] == "triage" }
            #expect(row?["calls_today"] == 2)

            // A sync call to the batch purpose is still a direct call, at the standard price.
            let sync = try await h.request(.POST, "/v1/purposes/triage/run", body: #"{"variables":{"ticket":"now"}}"#, headers: Self.app)
            #expect(sync.status == 200, "\(sync.text)")
            #expect(Self.directCalls(upstream) == 1)
            #expect(upstream.batches.created.count == 2)
            let direct = try await h.record(sync.json["call_id"]?.stringValue)
            #expect(direct.batchID == nil)
            #expect(abs((direct.costUSD ?? -1) - 2 * Self.batchCost(api)) < 1e-12)
        }
    }

    @Test(arguments: [FakeBatchAPI.API.openAI, .anthropic])
    func anErroredRequestFailsOnlyItsTask(_ api: FakeBatchAPI.API) async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        try await Harness.with(try Self.config(upstream, api)) { h in
            let ids = [try await Self.triage(h, "one"), try await Self.triage(h, "two"), try await Self.triage(h, "three")]
            upstream.batches.failRequest(ids[1], message: "ticket two is malformed")
            let batch = try #require(await h.gateway.taskBatcher.collect().first)
            #expect(await h.gateway.taskBatcher.poll().map(\.id) == [batch.id])
            #expect(try await Self.task(h, ids[0])["status"] == "succeeded")
            #expect(try await Self.task(h, ids[2])["status"] == "succeeded")
            let failed = try await Self.task(h, ids[1])
            #expect(failed["status"] == "failed")
            let message = failed["error_message"]?.stringValue ?? ""
            #expect(message.contains("ticket two is malformed") && message.contains(batch.id), "\(message)")
            let record = try await h.record(failed["call_ids"]?.arrayValue?.first?.stringValue)
            #expect(record.status == .error && record.batchID == batch.id && record.costUSD == nil)
            #expect(try await h.gateway.store.batch(batch.id)?.status == .completed)
        }
    }

    @Test(arguments: [
        (FakeBatchAPI.API.openAI, FakeBatchAPI.Fate.fail("input file is invalid")), (.openAI, .expire),
        (.anthropic, .fail("overloaded")), (.anthropic, .expire),
    ])
    func aFailedOrExpiredBatchFailsItsTasks(_ api: FakeBatchAPI.API, _ fate: FakeBatchAPI.Fate) async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.batches.setFate(fate)
        try await Harness.with(try Self.config(upstream, api)) { h in
            let ids = [try await Self.triage(h, "one"), try await Self.triage(h, "two")]
            let batch = try #require(await h.gateway.taskBatcher.collect().first)
            let ended = try #require(await h.gateway.taskBatcher.poll().first)
            let expected = fate == .expire ? "expired" : (api == .openAI ? "input file is invalid" : "overloaded")
            #expect(ended.status == (api == .openAI && fate != .expire ? .failed : .completed))
            for id in ids {
                let t = try await Self.task(h, id)
                #expect(t["status"] == "failed")
                #expect(t["error_message"]?.stringValue?.contains(expected) == true, "\(t["error_message"] ?? .null)")
                let record = try await h.record(t["call_ids"]?.arrayValue?.first?.stringValue)
                #expect(record.batchID == batch.id && record.status == .error)
            }
        }
    }

    /// A purpose whose daily budget cannot cover a task's worst case refuses it before any batch is sent.
    @Test func anExhaustedBudgetFailsTheTaskWithoutABatch() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let capped = "  capped: { model: fast, mode: batch, daily_budget_usd: 0.000001 }"
        try await Harness.with(try Self.config(upstream, .openAI, extraPurposes: capped)) { h in
            let id = try await Self.create(h, #"{"purpose":"capped","request":{"model":"fast","messages":[{"role":"user","content":"x"}]}}"#)
            #expect(await h.gateway.taskBatcher.collect().isEmpty)
            let t = try await Self.task(h, id)
            #expect(t["status"] == "failed")
            #expect(t["error_message"]?.stringValue?.hasPrefix("budget_exceeded:") == true, "\(t)")
            #expect(t["call_ids"]?.arrayValue?.count == 1)
            #expect(upstream.batches.created.isEmpty && upstream.received.isEmpty)
        }
    }

    /// With short intervals the service collects and polls on its own; task workers leave batch tasks alone.
    @Test func theServiceCollectsAndPollsOnItsOwn() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let tasks = "{ workers: 4, timeout_s: 30, batch_interval_s: 0.1, batch_poll_s: 0.05 }"
        try await Harness.with(try Self.config(upstream, .openAI, tasks: tasks)) { h in
            let id = try await Self.triage(h, "on its own")
            var t = JSON.null
            for _ in 0..<200 {
                t = try await Self.task(h, id)
                if t["status"] == "succeeded" { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(t["status"] == "succeeded", "\(t)")
            #expect(upstream.batches.created.count == 1 && Self.directCalls(upstream) == 0)
        }
    }
}
