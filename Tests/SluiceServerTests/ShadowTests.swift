import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// Shadow runs end to end: the live model on one fake upstream, the shadow's on another.
@Suite struct ShadowTests {
    static let primaryText = #"{"label":"bug","score":1}"#
    static let primaryUsage = Usage(inputTokens: 1000, outputTokens: 10)
    static let shadowUsage = Usage(inputTokens: 500, outputTokens: 20)

    /// Two prompt versions of `triage` (v2 words the instruction differently).
    static func prompts() throws -> String {
        let dir = try makeTempDir() + "/prompts"
        try FileManager.default.createDirectory(atPath: dir + "/triage", withIntermediateDirectories: true)
        for (v, instruction) in [("v1", "Label the ticket."), ("v2", "Label the ticket as bug or feature.")] {
            try """
                name: triage
                version: \(v)
                messages:
                  - role: system
                    content: \(instruction)
                  - role: user
                    content: "Ticket: {{ticket}}"
                """.write(toFile: "\(dir)/triage/\(v).prompt.yaml", atomically: true, encoding: .utf8)
        }
        return dir
    }

    static func config(_ live: FakeUpstream, _ shadow: FakeUpstream, prompts: String, extra: String = "") -> String {
        """
        providers:
          up: { type: openai_compatible, base_url: "\(live.baseURL)" }
          alt: { type: openai_compatible, base_url: "\(shadow.baseURL)" }
        models:
          fast: { targets: [ { provider: up, model: live-model-1 } ] }
          smart: { targets: [ { provider: alt, model: shadow-model-1 } ] }
        pricing:
          live-model-1: { input: 0.5, output: 1.0 }
          shadow-model-1: { input: 1.0, output: 2.0 }
        prompts_dir: "\(prompts)"
        \(noRetry)
        purposes:
          triage:
            prompt: triage
            prompt_version: v1
            model: fast
            output_schema: { type: object, properties: { label: { type: string }, score: { type: number } }, required: [label] }
            shadow: { prompt_version: v2, model: smart, sample: 1.0 }
        \(extra)
        """
    }

    static func upstreams() async throws -> (FakeUpstream, FakeUpstream) {
        let live = try await FakeUpstream.start()
        let shadow = try await FakeUpstream.start()
        live.setDefault(.text(primaryText, usage: primaryUsage))
        shadow.setDefault(.text(#"{"score":1.0,"label":"bug"}"#, usage: shadowUsage))
        return (live, shadow)
    }

    func run(_ h: Harness, _ ticket: String) async throws -> HTTPResult {
        try await h.request(.POST, "/v1/purposes/triage/run", body: #"{"variables":{"ticket":"\#(ticket)"},"run_id":"r1"}"#)
    }

    /// Sample 1.0: one pair per call, with agreement (whole objects, per field), tokens, latency, cost and
    /// feedback agreement for both sides equal to the stored rows; the shadow has its own ledger tag.
    @Test func everySampledCallIsPairedInTheReport() async throws {
        let (live, shadow) = try await Self.upstreams()
        defer { Task { await live.stop(); await shadow.stop() } }
        let prompts = try Self.prompts()
        let yaml = Self.config(live, shadow, prompts: prompts)
        var ids: [String] = []
        var dbPath = ""
        try await Harness.with(yaml) { h in
            dbPath = h.dbPath
            for i in 0..<6 {
                if i == 1 || i == 4 { shadow.enqueue(.text(#"{"label":"feature","score":1}"#, usage: Self.shadowUsage)) }
                let r = try await run(h, "ticket \(i)")
                #expect(r.status == 200, "\(r.text)")
                #expect(r.json["prompt_version"] == "v1")
                ids.append(try #require(r.json["call_id"]?.stringValue))
                await h.gateway.shadows.idle()
            }
            #expect(shadow.received.count == 6)
            let sent = try #require(shadow.received.first?.json)
            #expect(sent["model"] == "shadow-model-1")
            #expect(sent["messages"]?.arrayValue?.first?["content"] == "Label the ticket as bug or feature.")
            #expect(sent["response_format"]?["type"] == "json_schema")

            // Feedback on two live calls: the user went with "feature" on a disagreement, "bug" on an agreement.
            for (id, action) in [(ids[1], "feature"), (ids[0], "bug")] {
                let f = try await h.request(.POST, "/v1/feedback", body: #"{"call_id":"\#(id)","score":-1,"action":"\#(action)"}"#)
                #expect(f.status == 201, "\(f.text)")
            }

            let res = try await h.request(.GET, "/admin/shadow/triage?since=1h")
            #expect(res.status == 200, "\(res.text)")
            let report = res.json
            let pairs = try await h.gateway.store.shadowPairs(purpose: "triage:shadow", since: .distantPast, limit: 100)
            #expect(pairs.count == 6)
            #expect(Set(pairs.map(\.primary.callID)) == Set(ids))
            for p in pairs {
                #expect(p.shadow.purpose == "triage:shadow" && p.shadow.shadowOf == p.primary.callID)
                #expect(p.shadow.promptVersion == "v2" && p.shadow.model == "smart" && p.shadow.cache == "bypass")
                #expect(p.shadow.runID == nil && p.primary.runID == "r1")
                #expect(p.shadow.schemaValid == true)
            }
            #expect(report["pairs"] == 6)
            #expect(report["config"]?["prompt_version"] == "v2")
            #expect(report["this_node"]?["sampled"] == 6 && report["this_node"]?["completed"] == 6)
            let agreement = try #require(report["agreement"])
            #expect(agreement["compared"] == 6)
            #expect(agreement["rate"]?.doubleValue == 0.666667)
            #expect(agreement["exact_rate"]?.doubleValue == 0)
            #expect(agreement["json"]?["whole_rate"]?.doubleValue == 0.666667)
            #expect(agreement["json"]?["fields"]?["label"]?.doubleValue == 0.666667)
            #expect(agreement["json"]?["fields"]?["score"]?.doubleValue == 1)

            for (name, rows, usage) in [
                ("primary", pairs.map(\.primary), Self.primaryUsage), ("shadow", pairs.map(\.shadow), Self.shadowUsage),
            ] {
                let side = try #require(report[name])
                #expect(side["calls"] == 6 && side["errors"] == 0 && side["schema_valid_rate"] == 1)
                #expect(side["mean_input_tokens"]?.doubleValue == Double(usage.inputTokens))
                #expect(side["mean_output_tokens"]?.doubleValue == Double(usage.outputTokens))
                let costs = rows.compactMap(\.costUSD)
                #expect(costs.count == 6)
                let perCall = try #require(side["cost_per_call_usd"]?.doubleValue)
                #expect(abs(perCall - costs.reduce(0, +) / 6) < 1e-9 && perCall > 0)
                let latencies = rows.map(\.latencyMs).sorted()
                let p50 = try #require(side["latency_ms"]?["p50"]?.doubleValue)
                let p95 = try #require(side["latency_ms"]?["p95"]?.doubleValue)
                #expect(abs(p50 - latencies[2]) < 0.001 && abs(p95 - latencies[5]) < 0.001, "\(latencies)")
                #expect(p50 > 0)
            }
            // gpt-style prices: live 1000 × 0.5 + 10 × 1.0, shadow 500 × 1.0 + 20 × 2.0, per million.
            #expect(abs((report["primary"]?["cost_per_call_usd"]?.doubleValue ?? 0) - 0.00051) < 1e-12)
            #expect(abs((report["shadow"]?["cost_per_call_usd"]?.doubleValue ?? 0) - 0.00054) < 1e-12)
            #expect(report["primary"]?["feedback_agreement"]?["with_action"] == 2)
            #expect(report["primary"]?["feedback_agreement"]?["rate"]?.doubleValue == 0.5)
            #expect(report["shadow"]?["feedback_agreement"]?["rate"]?.doubleValue == 1)

            let disagreements = report["disagreements"]?.arrayValue ?? []
            #expect(Set(disagreements.compactMap { $0["primary_call_id"]?.stringValue }) == [ids[1], ids[4]])
            #expect(disagreements.first?["differing_fields"] == ["label"])
            #expect(disagreements.first?["shadow_output"]?.stringValue?.contains("feature") == true)
            #expect(disagreements.contains { $0["feedback_action"] == "feature" })

            // Its own ledger tag, never the live purpose's spend.
            let totals = try await h.gateway.store.ledgerTotals(
                from: .distantPast, to: .distantFuture, by: .purpose, purpose: nil)
            let shadowTotal = try #require(totals.first { $0.group == "triage:shadow" })
            #expect(shadowTotal.calls == 6 && abs(shadowTotal.costUSD - 6 * 0.00054) < 1e-12)
            #expect(totals.first { $0.group == "triage" }?.calls == 6)

            let unknown = try await h.request(.GET, "/admin/shadow/nope")
            #expect(unknown.status == 404)
            let badSince = try await h.request(.GET, "/admin/shadow/triage?since=yesterday")
            #expect(badSince.status == 400)
        }

        // The CLI reads the same report from the store.
        let dir = try makeTempDir()
        let configPath = dir + "/sluice.yaml"
        try (yaml + "\nstorage: { url: \"sqlite://\(dbPath)\" }\n").write(toFile: configPath, atomically: true, encoding: .utf8)
        let (status, table) = try await SluiceProcess.run(["shadow", "report", "triage", "--config", configPath], directory: dir)
        #expect(status == 0, "\(table)")
        #expect(table.contains("pairs 6") && table.contains("rate 0.667"), "\(table)")
        #expect(table.contains(ids[1]) && table.contains(ids[4]), "\(table)")
        let primaryLine = table.split(separator: "\n").first { $0.hasPrefix("primary ") }
        #expect(primaryLine?.contains("1000.0") == true && primaryLine?.contains("0.00051000") == true, "\(table)")
        let (jsonStatus, jsonText) = try await SluiceProcess.run(
            ["shadow", "report", "triage", "--config", configPath, "--json", "--since", "1h"], directory: dir)
        #expect(jsonStatus == 0)
        let parsed = try JSON.parse(String(jsonText.split(separator: "\n").last { $0.hasPrefix("{") } ?? ""))
        #expect(parsed["pairs"] == 6 && parsed["agreement"]?["compared"] == 6)
        let (badStatus, badText) = try await SluiceProcess.run(["shadow", "report", "nope", "--config", configPath], directory: dir)
        #expect(badStatus == 1 && badText.contains("unknown purpose 'nope'"), "\(badText)")
    }

    /// A shadow of a prompt version only: prompt runs are shadowed on the purpose's model; raw chat calls
    /// (nothing to re-render) are not, and hold no slot.
    @Test func aVersionOnlyShadowSkipsRawCalls() async throws {
        let (live, shadow) = try await Self.upstreams()
        defer { Task { await live.stop(); await shadow.stop() } }
        let extra = "  versioned: { prompt: triage, prompt_version: v1, model: fast, shadow: { prompt_version: v2, sample: 1, max_concurrency: 1 } }"
        try await Harness.with(Self.config(live, shadow, prompts: try Self.prompts(), extra: extra)) { h in
            for _ in 0..<2 {
                let raw = try await h.chat(#"{"model":"fast","messages":[{"role":"user","content":"hi"}]}"#, headers: ["X-Sluice-Purpose": "versioned"])
                #expect(raw.status == 200)
            }
            #expect(h.gateway.shadows.inFlight == 0 && h.gateway.shadows.counters["versioned"] == nil)
            let r = try await h.request(.POST, "/v1/purposes/versioned/run", body: #"{"variables":{"ticket":"x"}}"#)
            #expect(r.status == 200, "\(r.text)")
            await h.gateway.shadows.idle()
            await h.gateway.callLog.flush()  // the shadow's record is queued; the pairs read the store
            let rows = try await h.gateway.store.shadowPairs(purpose: "versioned:shadow", since: .distantPast, limit: 10)
            #expect(rows.count == 1 && rows.first?.shadow.promptVersion == "v2" && rows.first?.shadow.model == "fast")
            #expect(live.received.last?.json?["messages"]?.arrayValue?.first?["content"] == "Label the ticket as bug or feature.")
            #expect(shadow.received.isEmpty)
        }
    }

    /// A candidate version that needs a variable the live one does not: the live call answers, the
    /// shadow is a failed run recorded with its reason, and the report counts it as an error.
    @Test func aShadowThatCannotRenderIsAFailedRun() async throws {
        let (live, shadow) = try await Self.upstreams()
        defer { Task { await live.stop(); await shadow.stop() } }
        let prompts = try Self.prompts()
        try """
            version: v2
            messages:
              - role: user
                content: "Ticket: {{ticket}} from team {{team}}"
            """.write(toFile: prompts + "/triage/v2.prompt.yaml", atomically: true, encoding: .utf8)
        try await Harness.with(Self.config(live, shadow, prompts: prompts)) { h in
            let r = try await run(h, "login fails")
            #expect(r.status == 200, "\(r.text)")
            await h.gateway.shadows.idle()
            await h.gateway.callLog.flush()
            #expect(shadow.received.isEmpty)
            let pairs = try await h.gateway.store.shadowPairs(purpose: "triage:shadow", since: .distantPast, limit: 10)
            #expect(pairs.count == 1)
            #expect(pairs.first?.shadow.status == .error && pairs.first?.shadow.httpStatus == 400)
            #expect(pairs.first?.shadow.error?.contains("team") == true, "\(pairs.first?.shadow.error ?? "")")
            let report = try await h.request(.GET, "/admin/shadow/triage").json
            #expect(report["shadow"]?["errors"] == 1 && report["primary"]?["errors"] == 0)
            #expect(h.gateway.shadows.counters["triage"]?.failed == 1)
        }
    }
}
