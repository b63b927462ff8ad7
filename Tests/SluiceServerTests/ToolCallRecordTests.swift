import Foundation
import SluiceCore
import SluiceTesting
import Testing

/// Tool calls are kept in the call record, whole and streamed, on chat and messages, under
/// `storage.log_bodies` and the purpose's PII redaction like the output.
@Suite struct ToolCallRecordTests {
    static let tools = [
        FakeUpstream.ToolUse(id: "call_1", name: "lookup", input: ["city": "Paris"]),
        FakeUpstream.ToolUse(id: "call_2", name: "book", input: ["seats": 2]),
    ]

    static func upstream() async throws -> FakeUpstream {
        let upstream = try await FakeUpstream.start()
        var reply = FakeUpstream.Reply.text("Checking.")
        reply.toolUses = tools
        upstream.setDefault(reply)
        return upstream
    }

    static let chatBody = #"{"model":"fast","messages":[{"role":"user","content":"trip?"}]}"#
    static let messagesBody = #"{"model":"fast","max_tokens":100,"messages":[{"role":"user","content":"trip?"}]}"#

    static func streamed(_ body: String) -> String {
        body.replacingOccurrences(of: #"{"model":"fast","#, with: #"{"model":"fast","stream":true,"#)
    }

    @Test func wholeAndStreamedOnChatAndMessages() async throws {
        let upstream = try await Self.upstream()
        defer { Task { await upstream.stop() } }
        try await Harness.with(upstreamConfig(upstream)) { h in
            let calls: [(String, String)] = [
                ("/v1/chat/completions", Self.chatBody), ("/v1/chat/completions", Self.streamed(Self.chatBody)),
                ("/v1/messages", Self.messagesBody), ("/v1/messages", Self.streamed(Self.messagesBody)),
            ]
            var lastID = ""
            for (path, body) in calls {
                let r = try await h.request(.POST, path, body: body)
                #expect(r.status == 200, "\(path) \(r.text)")
                let rec = try await h.record(r.header("X-Sluice-Call-Id"))
                lastID = rec.callID
                #expect(rec.status == .ok)
                #expect(rec.surface == (path == "/v1/messages" ? "messages" : "chat"))
                #expect(rec.stream == body.contains("\"stream\":true"))
                #expect(
                    rec.toolCalls == [ToolCall(name: "lookup", arguments: #"{"city":"Paris"}"#), ToolCall(name: "book", arguments: #"{"seats":2}"#)],
                    "\(path) stream=\(rec.stream): \(rec.toolCalls)")
                let shown = try await h.request(.GET, "/admin/calls/\(rec.callID)")
                #expect(shown.json["tool_calls"] == [["name": "lookup", "arguments": #"{"city":"Paris"}"#], ["name": "book", "arguments": #"{"seats":2}"#]])
            }
            // The dashboard's drill-down lists them.
            let page = try await h.request(.GET, "/calls/\(lastID)")
            #expect(page.status == 200)
            #expect(page.text.contains("id=\"tool-calls\"") && page.text.contains("lookup") && page.text.contains("{&quot;city&quot;:&quot;Paris&quot;}"), "\(page.text)")
            // An answer without tool calls keeps an empty list.
            upstream.enqueue(.text("Sure."))
            let plain = try await h.chat(Self.chatBody)
            #expect(try await h.record(plain.header("X-Sluice-Call-Id")).toolCalls.isEmpty)
        }
    }

    /// `/v1/messages` to an Anthropic target goes natively; its `tool_use` blocks are recorded too,
    /// and so are an Anthropic upstream's tool calls on the chat surface.
    @Test func nativeAnthropicToolUseIsRecorded() async throws {
        let upstream = try await Self.upstream()
        defer { Task { await upstream.stop() } }
        try await Harness.with(MessagesNativeTests.config(upstream)) { h in
            let native = #"{"model":"claude","max_tokens":100,"messages":[{"role":"user","content":"trip?"}]}"#
            let chat = #"{"model":"claude","messages":[{"role":"user","content":"trip?"}]}"#
            let cases = [
                ("/v1/messages", native), ("/v1/messages", native.replacingOccurrences(of: #""max_tokens":100,"#, with: #""max_tokens":100,"stream":true,"#)),
                ("/v1/chat/completions", chat), ("/v1/chat/completions", chat.replacingOccurrences(of: #""model":"claude","#, with: #""model":"claude","stream":true,"#)),
            ]
            for (path, body) in cases {
                let r = try await h.request(.POST, path, body: body, headers: ["x-api-key": "unused"])
                #expect(r.status == 200, "\(path) \(r.text)")
                let rec = try await h.record(r.header("X-Sluice-Call-Id"))
                #expect(rec.toolCalls.map(\.name) == ["lookup", "book"], "\(path) \(body)")
                #expect(rec.toolCalls.first.flatMap { $0.arguments.flatMap { try? JSON.parse($0) } } == ["city": "Paris"], "\(rec.toolCalls)")
            }
        }
    }

    /// The Responses surface records them too, whole and streamed.
    @Test func responsesRecordToolCalls() async throws {
        let upstream = try await Self.upstream()
        defer { Task { await upstream.stop() } }
        try await Harness.with(upstreamConfig(upstream)) { h in
            for body in [#"{"model":"fast","input":"trip?"}"#, #"{"model":"fast","input":"trip?","stream":true}"#] {
                let r = try await h.request(.POST, "/v1/responses", body: body)
                #expect(r.status == 200, "\(r.text)")
                let rec = try await h.record(r.header("X-Sluice-Call-Id"))
                #expect(rec.surface == "responses" && rec.toolCalls.map(\.name) == ["lookup", "book"], "\(body): \(rec.toolCalls)")
            }
        }
    }

    /// A cache hit of a tool-call answer records the cached answer's tool calls.
    @Test func aCacheHitKeepsTheToolCalls() async throws {
        let upstream = try await Self.upstream()
        defer { Task { await upstream.stop() } }
        try await Harness.with(upstreamConfig(upstream, extra: "purposes:\n  cached: { model: fast, cache: { ttl: 1h } }\n")) { h in
            let first = try await h.chat(Self.chatBody, headers: ["X-Sluice-Purpose": "cached"])
            #expect(first.header("X-Sluice-Cache") == "miss")
            let hit = try await h.chat(Self.chatBody, headers: ["X-Sluice-Purpose": "cached"])
            #expect(hit.header("X-Sluice-Cache") == "hit")
            let rec = try await h.record(hit.header("X-Sluice-Call-Id"))
            #expect(rec.cache == "hit" && rec.toolCalls.map(\.name) == ["lookup", "book"], "\(rec.toolCalls)")
        }
    }

    @Test(arguments: ["redacted", "hash"])
    func logBodiesApplyToArguments(_ mode: String) async throws {
        let upstream = try await Self.upstream()
        defer { Task { await upstream.stop() } }
        try await Harness.with(upstreamConfig(upstream, extra: "storage: { url: \"sqlite://{DB}\", log_bodies: \(mode) }")) { h in
            for body in [Self.chatBody, Self.streamed(Self.chatBody)] {
                let r = try await h.chat(body)
                let rec = try await h.record(r.header("X-Sluice-Call-Id"))
                #expect(rec.toolCalls.map(\.name) == ["lookup", "book"])
                if mode == "redacted" {
                    #expect(rec.toolCalls.map(\.arguments) == ["[redacted: 16 chars]", "[redacted: 11 chars]"])
                } else {
                    #expect(rec.toolCalls.allSatisfy { $0.arguments == nil })
                }
                let file = try Data(contentsOf: URL(fileURLWithPath: h.dbPath + "-wal")) + Data(contentsOf: URL(fileURLWithPath: h.dbPath))
                #expect(file.range(of: Data("Paris".utf8)) == nil)
            }
        }
    }

    /// Under `pii: redact` the upstream sees placeholders; the record keeps them (as it does in
    /// the output) while the app gets its values back.
    @Test func piiStaysRedactedInStoredArguments() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        var reply = FakeUpstream.Reply.text("")
        reply.toolUses = [FakeUpstream.ToolUse(id: "call_1", name: "send_mail", input: ["to": "<EMAIL_1>"])]
        upstream.setDefault(reply)
        let extra = "purposes:\n  mail: { model: fast, pii: redact }\n"
        try await Harness.with(upstreamConfig(upstream, extra: extra)) { h in
            let body = #"{"model":"fast","messages":[{"role":"user","content":"mail alice@example.com the plan"}]}"#
            let r = try await h.chat(body, headers: ["X-Sluice-Purpose": "mail"])
            #expect(r.status == 200, "\(r.text)")
            let args = r.json["choices"]?.arrayValue?.first?["message"]?["tool_calls"]?.arrayValue?.first?["function"]?["arguments"]?.stringValue
            #expect(args?.contains("alice@example.com") == true)
            let sent = upstream.received.last?.json?.jsonString ?? ""
            #expect(!sent.contains("alice@example.com"))
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.toolCalls == [ToolCall(name: "send_mail", arguments: #"{"to":"<EMAIL_1>"}"#)])
            let shown = try await h.request(.GET, "/admin/calls/\(rec.callID)")
            #expect(!shown.text.contains("alice@example.com"))
        }
    }
}
