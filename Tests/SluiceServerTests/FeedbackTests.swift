import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// `POST /v1/feedback`: stored, joined to its call, refused with a reason when wrong.
@Suite struct FeedbackTests {
    static func config(_ upstream: FakeUpstream) throws -> String {
        """
        auth:
          admin_key: admin-secret-feedback-1
          keys:
            - { name: app, key: app-secret-feedback-1 }
            - { name: other, key: other-secret-feedback-1 }
        providers:
          up: { type: openai_compatible, base_url: "\(upstream.baseURL)" }
        models:
          fast: { targets: [ { provider: up, model: gpt-4o-mini } ] }
        prompts_dir: "\(try PurposeCacheTests.withTriage())"
        purposes:
          triage: { prompt: triage, model: fast }
        \(noRetry)
        """
    }

    static let app = ["Authorization": "Bearer app-secret-feedback-1"]
    static let other = ["Authorization": "Bearer other-secret-feedback-1"]

    func post(_ h: Harness, _ body: String, _ headers: [String: String] = Self.app) async throws -> HTTPResult {
        try await h.request(.POST, "/v1/feedback", body: body, headers: headers)
    }

    /// Feedback on a call just answered (its row maybe not written yet) and on a task: 201, stored with
    /// the call, the purpose and the key; a task names its last call.
    @Test func feedbackIsStoredAgainstItsCall() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        try await Harness.with(try Self.config(upstream)) { h in
            let run = try await h.request(.POST, "/v1/purposes/triage/run", body: #"{"variables":{"ticket":"x"}}"#, headers: Self.app)
            let callID = try #require(run.json["call_id"]?.stringValue)
            let res = try await post(h, #"{"call_id":"\#(callID)","score":-0.5,"label":"wrong_label","comment":"it was billing","action":"billing"}"#)
            #expect(res.status == 201, "\(res.text)")
            let body = res.json
            #expect(body["object"] == "feedback" && body["call_id"]?.stringValue == callID && body["task_id"] == .null)
            #expect(body["score"]?.doubleValue == -0.5 && body["label"] == "wrong_label" && body["comment"] == "it was billing")
            #expect(body["action"] == "billing" && body["purpose"] == "triage")
            #expect(body["created_at"]?.stringValue?.hasSuffix("Z") == true)
            let id = try #require(body["id"]?.stringValue)
            #expect(id.hasPrefix("fb_"))
            let stored = try #require(try await h.gateway.store.feedback(id))
            #expect(stored.callID == callID && stored.keyName == "app" && stored.purpose == "triage" && stored.score == -0.5)
            #expect(try await h.gateway.store.feedback(callIDs: [callID]).map(\.id) == [id])

            // By task: the task's last call.
            let created = try await h.request(
                .POST, "/v1/tasks", body: #"{"purpose":"triage","variables":{"ticket":"y"}}"#, headers: Self.app)
            let taskID = try #require(created.json["id"]?.stringValue)
            var task = JSON.null
            for _ in 0..<200 {
                task = try await h.request(.GET, "/v1/tasks/\(taskID)", headers: Self.app).json
                if task["status"] == "succeeded" { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            let last = try #require(task["call_ids"]?.arrayValue?.last?.stringValue, "\(task)")
            let byTask = try await post(h, #"{"task_id":"\#(taskID)","score":1}"#)
            #expect(byTask.status == 201, "\(byTask.text)")
            #expect(byTask.json["task_id"]?.stringValue == taskID && byTask.json["call_id"]?.stringValue == last)
            #expect(byTask.json["label"] == .null && byTask.json["action"] == .null)

            // The admin key may give feedback on any call.
            let admin = try await post(h, #"{"call_id":"\#(callID)","score":1}"#, ["Authorization": "Bearer admin-secret-feedback-1"])
            #expect(admin.status == 201)
        }
    }

    /// Bad bodies are 400 with a message that says what to send; unknown or another key's calls and tasks are 404.
    @Test func badFeedbackIsRefused() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        try await Harness.with(try Self.config(upstream)) { h in
            let run = try await h.request(.POST, "/v1/purposes/triage/run", body: #"{"variables":{"ticket":"x"}}"#, headers: Self.app)
            let callID = try #require(run.json["call_id"]?.stringValue)
            let long = String(repeating: "a", count: 2001)
            let cases: [(String, String, String)] = [
                ("not json", "not valid JSON", "null"),
                ("[1]", "must be a JSON object", "null"),
                (#"{"score":1}"#, "send 'call_id'", "call_id"),
                (#"{"call_id":"\#(callID)","task_id":"task_1","score":1}"#, "either 'call_id' or 'task_id'", "task_id"),
                (#"{"call_id":"","score":1}"#, "must not be empty", "call_id"),
                (#"{"call_id":"\#(callID)"}"#, "'score' is required", "score"),
                (#"{"call_id":"\#(callID)","score":2}"#, "from -1 to 1, got 2", "score"),
                (#"{"call_id":"\#(callID)","score":"good"}"#, "from -1 to 1", "score"),
                (#"{"call_id":"\#(callID)","score":1,"label":7}"#, "'label' must be a string", "label"),
                (#"{"call_id":"\#(callID)","score":1,"comment":"\#(long)"}"#, "at most 2000", "comment"),
                (#"{"call_id":"\#(callID)","score":1,"rating":5}"#, "Unknown field 'rating'", "rating"),
            ]
            for (body, message, param) in cases {
                let res = try await post(h, body)
                #expect(res.status == 400, "\(body): \(res.text)")
                #expect(res.json["error"]?["code"] == "invalid_request")
                #expect(res.json["error"]?["message"]?.stringValue?.contains(message) == true, "\(body): \(res.text)")
                #expect(res.json["error"]?["param"] == (param == "null" ? .null : .string(param)), "\(body): \(res.text)")
            }
            let unknown = try await post(h, #"{"call_id":"call_0000000000000000000000000000","score":1}"#)
            #expect(unknown.status == 404 && unknown.json["error"]?["code"] == "not_found", "\(unknown.text)")
            let foreign = try await post(h, #"{"call_id":"\#(callID)","score":1}"#, Self.other)
            #expect(foreign.status == 404, "another key's call must look missing: \(foreign.text)")
            let noTask = try await post(h, #"{"task_id":"task_missing","score":1}"#)
            #expect(noTask.status == 404)
            let noKey = try await post(h, #"{"call_id":"\#(callID)","score":1}"#, [:])
            #expect(noKey.status == 401)
            #expect(try await h.gateway.store.feedback(callIDs: [callID]).isEmpty)
        }
    }
}
