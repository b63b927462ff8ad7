import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// `POST /v1/tasks`: durable work that the task workers run through the same Engine as a
/// sync call. A policy may refuse a task when it is created (a `4xx`, no row) or when it
/// runs (the task fails with the policy's code); either way nothing reaches the provider.
@Suite struct GuaranteesTasksTests {
    typealias F = GuaranteeFixture

    static func prompt(_ purpose: String, _ text: String = "hi") -> String {
        #"{"purpose":"\#(purpose)","variables":{"text":"\#(text)"}}"#
    }

    static func create(_ h: Harness, _ key: [String: String], _ body: String, _ more: [String: String] = [:]) async throws -> HTTPResult {
        try await h.request(.POST, "/v1/tasks", body: body, headers: key.merging(more) { $1 })
    }

    /// The task once it ended (succeeded, failed, needs_review or cancelled).
    static func ended(_ h: Harness, _ id: String) async throws -> JSON {
        for _ in 0..<1000 {
            let t = try await h.request(.GET, "/v1/tasks/\(id)", headers: F.admin).json
            if let s = t["status"]?.stringValue, ["succeeded", "failed", "needs_review", "cancelled"].contains(s) { return t }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw HarnessError("task \(id) did not end")
    }

    /// Creates a task and waits for its end.
    static func run(_ h: Harness, _ key: [String: String], _ body: String) async throws -> JSON {
        let r = try await create(h, key, body)
        #expect(r.status == 202, "\(r.text)")
        return try await ended(h, try #require(r.json["id"]?.stringValue))
    }

    /// The call record of a task's (last) call.
    static func record(_ h: Harness, _ task: JSON) async throws -> CallRecord {
        try await h.record(task["call_ids"]?.arrayValue?.last?.stringValue)
    }

    /// A task a policy refuses: a `4xx` with `code` at create, or a task that fails with `code`
    /// (and its call record says so).
    static func expectRefused(
        _ h: Harness, _ key: [String: String], _ body: String, code: String, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let r = try await create(h, key, body)
        if r.status >= 400 {
            #expect(r.json["error"]?["code"]?.stringValue == code, "\(r.text)", sourceLocation: sourceLocation)
            return
        }
        let t = try await ended(h, try #require(r.json["id"]?.stringValue))
        #expect(t["status"] == "failed", "\(t)", sourceLocation: sourceLocation)
        #expect(t["error_message"]?.stringValue?.hasPrefix(code) == true, "\(t)", sourceLocation: sourceLocation)
        #expect(try await record(h, t).status == .error, sourceLocation: sourceLocation)
    }

    /// Two tasks at once where one call fits: one succeeds, the other fails with `code`.
    static func expectOneOfTwo(_ h: Harness, _ key: [String: String], _ purpose: String, code: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let a = try await create(h, key, prompt(purpose, "first"))
        let b = try await create(h, key, prompt(purpose, "second"))
        var ends: [JSON] = []
        for r in [a, b] { ends.append(try await ended(h, try #require(r.json["id"]?.stringValue, "\(r.text)"))) }
        #expect(ends.map { $0["status"]?.stringValue ?? "" }.sorted() == ["failed", "succeeded"], "\(ends)", sourceLocation: sourceLocation)
        #expect(ends.contains { $0["error_message"]?.stringValue?.hasPrefix(code) == true }, "\(ends)", sourceLocation: sourceLocation)
    }

    /// Scope (at create), rate limit, budget, input guard and PII (block, and redact with
    /// the values restored in the result) hold for tasks; kill switches are checked at
    /// create by TaskPreflightTests.
    @Test func admissionHoldsForTasks() async throws {
        try await F.with { f in
            try await Harness.with(try f.config(), clock: F.stillClock()) { h in
                let scope = try await Self.create(h, F.narrow, Self.prompt("guarded"))
                #expect(scope.status == 403 && scope.json["error"]?["code"] == "forbidden", "\(scope.text)")
                #expect(try await h.gateway.store.tasks(status: nil, purpose: "guarded", limit: 10, before: nil).isEmpty)

                try await Self.expectRefused(h, F.app, Self.prompt("guarded", "please drop table users"), code: "guard_blocked")
                try await Self.expectRefused(h, F.app, Self.prompt("strict", "mail jane.doe@example.com"), code: "pii_detected")
                #expect(f.primary.requestCount == 0)

                try await Self.expectOneOfTwo(h, F.limited, "open", code: "rate_limited")
                try await Self.expectOneOfTwo(h, F.app, "capped", code: "budget_exceeded")
                #expect(f.primary.requestCount == 2)

                let redacted = try await Self.run(h, F.app, Self.prompt("redacted", "mail jane.doe@example.com please"))
                #expect(redacted["status"] == "succeeded", "\(redacted)")
                #expect(redacted["result"]?["text"] == "fake answer to: mail jane.doe@example.com please")
                let sent = String(decoding: f.primary.received.last?.body ?? [], as: UTF8.self)
                #expect(!sent.contains("jane.doe") && sent.contains("<EMAIL_1>"), "\(sent)")
            }
        }
    }

    /// Retries and the fallback answer a task; a prompt task renders the variant its purpose
    /// splits to; a second task with the same input is a cache hit.
    @Test func routingCachePromptsAndVariantsHoldForTasks() async throws {
        try await F.with { f in
            f.primary.setDefault(.status(503, message: "primary down"))
            try await Harness.with(try f.config()) { h in
                let chained = try await Self.run(h, F.app, Self.prompt("chained"))
                #expect(chained["status"] == "succeeded", "\(chained)")
                #expect(chained["result"]?["model"] == "backup-model-1")
                let attempts = try await Self.record(h, chained).attempts
                #expect(attempts.map(\.status) == [503, 503, 200] && attempts.map(\.provider) == ["primary", "primary", "backup"])

                var ok = FakeUpstream.Reply()
                ok.usage = F.usage
                f.primary.setDefault(ok)
                let split = try await Self.run(h, F.app, Self.prompt("split"))
                #expect(split["result"]?["variant"] == "v2" && split["result"]?["prompt_version"] == "v2", "\(split)")
                #expect(f.primary.received.last?.json?["messages"]?.arrayValue?.first?["content"] == "Answer (v2).")
                let rec = try await Self.record(h, split)
                #expect(rec.variant == "v2" && rec.promptName == "ask" && rec.promptVersion == "v2")

                let before = f.primary.requestCount
                let miss = try await Self.run(h, F.app, Self.prompt("cached", "same input"))
                let hit = try await Self.run(h, F.app, Self.prompt("cached", "same input"))
                #expect(miss["result"]?["cache"] == "miss" && hit["result"]?["cache"] == "hit", "\(hit)")
                #expect(hit["result"]?["text"] == "fake answer to: same input")
                #expect(try await Self.record(h, hit).cache == "hit")
                #expect(f.primary.requestCount == before + 1)
            }
        }
    }

    /// Schema validation with repair, output guards, review (`needs_review`) and shadows hold for tasks.
    @Test func outputPoliciesHoldForTasks() async throws {
        try await F.with { f in
            try await Harness.with(try f.config()) { h in
                f.primary.enqueue(F.reply("not JSON at all"), F.reply(#"{"answer":"42"}"#))
                let repaired = try await Self.run(h, F.app, Self.prompt("schema"))
                #expect(repaired["status"] == "succeeded", "\(repaired)")
                #expect(repaired["result"]?["output"] == ["answer": "42"])
                let rec = try await Self.record(h, repaired)
                #expect(rec.repairs == 1 && rec.schemaValid == true)

                f.primary.enqueue(F.reply(F.secret))
                let blocked = try await Self.run(h, F.app, Self.prompt("guarded"))
                #expect(blocked["status"] == "failed" && blocked["error_message"]?.stringValue?.hasPrefix("output_blocked") == true, "\(blocked)")
                #expect(blocked["result"] == .null)

                let reviewed = try await Self.run(h, F.app, Self.prompt("reviewed"))
                #expect(reviewed["status"] == "needs_review", "\(reviewed)")
                let callID = try #require(reviewed["call_ids"]?.arrayValue?.last?.stringValue)
                let items = try await h.gateway.store.reviews(status: nil, purpose: "reviewed", limit: 10, before: nil)
                #expect(items.contains { $0.callID == callID })

                let shadowed = try await Self.run(h, F.app, Self.prompt("shadowed"))
                #expect(shadowed["status"] == "succeeded", "\(shadowed)")
                await h.gateway.shadows.idle()
                await h.gateway.callLog.flush()
                let rows = try await h.gateway.store.list(CallFilter(purpose: "shadowed:shadow", limit: 10))
                #expect(rows.map(\.shadowOf) == [shadowed["call_ids"]?.arrayValue?.last?.stringValue])
                #expect(f.backup.received.last?.json?["model"] == "shadow-model-1")
            }
        }
    }

    /// The `Idempotency-Key` header on `POST /v1/tasks` (as on every POST of the data plane):
    /// a repeat replays the first answer and makes no second task.
    @Test func anIdempotencyKeyHeaderReplaysATaskCreate() async throws {
        try await F.with { f in
            try await Harness.with(try f.config()) { h in
                let key = ["Idempotency-Key": "task-hdr-1"]
                let first = try await Self.create(h, F.app, Self.prompt("open", "once"), key)
                #expect(first.status == 202 && first.header("Idempotent-Replayed") == nil, "\(first.text)")
                let again = try await Self.create(h, F.app, Self.prompt("open", "once"), key)
                #expect(again.header("Idempotent-Replayed") == "true", "\(again.text)")
                #expect(again.json["id"] == first.json["id"])
                let other = try await Self.create(h, F.app, Self.prompt("open", "twice"), key)
                #expect(other.status == 409 && other.json["error"]?["code"] == "idempotency_conflict", "\(other.text)")
                #expect(try await h.gateway.store.tasks(status: nil, purpose: "open", limit: 10, before: nil).count == 1)
                _ = try await Self.ended(h, try #require(first.json["id"]?.stringValue))
                #expect(f.primary.requestCount == 1)
            }
        }
    }

    /// A prompt task's call and a raw request task's call are rows, Prometheus series and spans.
    @Test func taskCallsAreRecordedTracedAndCounted() async throws {
        let receiver = try await OTLPReceiver.start()
        defer { Task { await receiver.stop() } }
        var ids: [String] = []
        try await F.with { f in
            try await Harness.with(try f.config(tracing: receiver)) { h in
                let raw = #"{"purpose":"open","request":{"model":"fast","max_tokens":100,"messages":[{"role":"user","content":"raw"}]}}"#
                for body in [Self.prompt("open"), raw] {
                    let t = try await Self.run(h, F.app, body)
                    #expect(t["status"] == "succeeded", "\(t)")
                    let rec = try await Self.record(h, t)
                    #expect(rec.status == .ok && rec.purpose == "open" && rec.keyName == "app" && !rec.stream)
                    #expect(rec.usage == F.usage && rec.costUSD != nil)
                    ids.append(rec.callID)
                }
                let m = try await F.metrics(h)
                #expect(m.contains(#"sluice_requests_total{purpose="open",model="fast",provider="primary",status="ok"} 2"#), "\(m)")
            }
        }
        // Sluice makes a task's call itself, outside any request: its span is internal.
        await F.expectSpans(receiver, ids, kind: 1)
    }
}
