import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// `POST /v1/tasks` refuses what a synchronous call would refuse, before any row is written;
/// a task under a purpose with a model may leave `model` out.
@Suite struct TaskPreflightTests {
    @Test func aTaskThatCanNeverRunIsA4xxAndNoRow() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let yaml = try TaskTests.config(upstream).replacingOccurrences(
            of: "triage: { prompt: triage, model: fast }",
            with: "triage: { prompt: triage, model: fast }\n  killed: { model: fast }\n  raw: { model: fast }")
        try await Harness.with(yaml) { h in
            func create(_ body: String) async throws -> HTTPResult {
                try await h.request(.POST, "/v1/tasks", body: body, headers: TaskTests.app)
            }
            let unknown = try await create(#"{"purpose":"raw","request":{"model":"no-such-model","messages":[{"role":"user","content":"hi"}]}}"#)
            #expect(unknown.status == 400, "\(unknown.text)")
            #expect(unknown.json["error"]?["param"] == "model")
            #expect(unknown.json["error"]?["message"]?.stringValue?.contains("no-such-model") == true)

            let badSchema = try await create(#"""
                {"purpose":"raw","request":{"model":"fast","messages":[{"role":"user","content":"hi"}],
                 "response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"no-such-type"}}}}}
                """#)
            #expect(badSchema.status == 400, "\(badSchema.text)")
            #expect(badSchema.json["error"]?["param"] == "response_format")

            let missingVariable = try await create(#"{"purpose":"triage","variables":{}}"#)
            #expect(missingVariable.status == 400, "\(missingVariable.text)")

            let kill = try await h.request(
                .POST, "/admin/kill", body: #"{"purpose":"killed","reason":"incident 42"}"#, headers: TaskTests.admin)
            #expect(kill.status == 200 || kill.status == 201, "\(kill.text)")
            let killed = try await create(#"{"purpose":"killed","request":{"messages":[{"role":"user","content":"hi"}]}}"#)
            #expect(killed.status == 503, "\(killed.text)")
            #expect(killed.json["error"]?["code"] == "disabled")

            // The synchronous call answers the same.
            let sync = try await h.request(
                .POST, "/v1/chat/completions", body: #"{"model":"no-such-model","messages":[{"role":"user","content":"hi"}]}"#,
                headers: TaskTests.app.merging(["X-Sluice-Purpose": "raw"]) { a, _ in a })
            #expect(sync.status == 400 && sync.json["error"]?["param"] == "model")

            let rows = try await h.gateway.store.tasks(status: nil, purpose: nil, limit: 100, before: nil)
            #expect(rows.isEmpty, "no row for a refused task: \(rows.map(\.id))")

            // A purpose with a model: the request may omit it, and the task runs on it.
            let ok = try await create(#"{"purpose":"raw","request":{"messages":[{"role":"user","content":"no model named"}]}}"#)
            #expect(ok.status == 202, "\(ok.text)")
            let id = try #require(ok.json["id"]?.stringValue)
            var done = JSON.null
            for _ in 0..<200 {
                done = try await h.request(.GET, "/v1/tasks/\(id)", headers: TaskTests.app).json
                if done["status"] == "succeeded" || done["status"] == "failed" { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(done["status"] == "succeeded", "\(done)")
            #expect(upstream.received.last?.json?["model"] == "gpt-4o-mini")
        }
    }

    /// The call row is readable the moment the response is back: no sleep, no flush.
    @Test func aCallIsFoundAsSoonAsItsResponseIsSent() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        try await Harness.with(upstreamConfig(upstream)) { h in
            for stream in [false, true] {
                let r = try await h.chat(#"{"model":"fast","stream":\#(stream),"messages":[{"role":"user","content":"find me"}]}"#)
                #expect(r.status == 200)
                let id = try #require(r.header("X-Sluice-Call-Id"))
                let row = try await h.request(.GET, "/admin/calls/\(id)")
                #expect(row.status == 200, "\(row.text)")
                #expect(row.json["call_id"]?.stringValue == id || row.json["id"]?.stringValue == id, "\(row.text)")
                #expect(row.json["status"] == "ok")
            }
        }
    }
}
