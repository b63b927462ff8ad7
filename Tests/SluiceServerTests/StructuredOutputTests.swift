import Foundation
import SluiceCore
import SluiceTesting
import Testing

/// Output schemas, repairs, refusals, personal data, guards and the review queue, end to end.
@Suite struct StructuredOutputTests {
    static let schema = #"{"type":"object","properties":{"label":{"enum":["bug","feature"]},"score":{"type":"integer","maximum":5}},"required":["label","score"],"additionalProperties":false}"#

    static func config(_ upstream: FakeUpstream) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-so-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try """
            version: v1
            messages:
              - { role: system, content: "Classify the ticket as JSON." }
              - { role: user, content: "{{ticket}}" }
            """.write(toFile: dir + "/classify.prompt.yaml", atomically: true, encoding: .utf8)
        return """
            providers:
              up: { type: openai_compatible, base_url: "\(upstream.baseURL)" }
            models:
              fast: { targets: [ { provider: up, model: gpt-4o-mini } ] }
            prompts_dir: "\(dir)"
            purposes:
              classify: { prompt: classify, model: fast, output_schema: \(schema), repair_attempts: 2 }
              support:
                pii: redact
                guards:
                  input: [ { name: no_sql, deny: ["drop\\\\s+table"] } ]
                  output: [ { name: no_refund_promises, forbid: [refund], action: flag } ]
                review: { when: guard_flagged }
              strict: { pii: block }
            \(noRetry)
            """
    }

    func classify(_ h: Harness, _ ticket: String = "login fails") async throws -> HTTPResult {
        try await h.request(.POST, "/v1/purposes/classify/run", body: #"{"variables":{"ticket":"\#(ticket)"}}"#)
    }

    @Test func validJSONIsReturnedParsedAndProseIsExtracted() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        try await Harness.with(try Self.config(upstream)) { h in
            upstream.enqueue(.text(#"{"label":"bug","score":3}"#))
            let r = try await classify(h)
            #expect(r.status == 200, "\(r.text)")
            #expect(r.json["output"] == ["label": "bug", "score": 3])
            #expect(r.json["schema_valid"] == true)
            let sent = try #require(upstream.received.last?.json)
            #expect(sent["response_format"]?["type"] == "json_schema")
            #expect(sent["response_format"]?["json_schema"]?["schema"] == (try JSON.parse(Self.schema)))

            upstream.enqueue(.text("Sure! Here it is:\n```json\n{\"label\":\"feature\",\"score\":1}\n```\nAnything else?"))
            let fenced = try await classify(h)
            #expect(fenced.json["output"] == ["label": "feature", "score": 1])
            upstream.enqueue(.text(#"The answer is {"label":"bug","score":2} — hope it helps {not json}"#))
            let prose = try await classify(h)
            #expect(prose.json["output"] == ["label": "bug", "score": 2])
            #expect(prose.json["text"] == #"{"label":"bug","score":2}"#)
            let rec = try await h.record(prose.json["call_id"]?.stringValue)
            #expect(rec.schemaValid == true)
            #expect(rec.repairs == 0)
            #expect(upstream.received.count == 3)
        }
    }

    @Test func anInvalidAnswerIsRepairedWithTheValidatorsErrors() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        try await Harness.with(try Self.config(upstream)) { h in
            upstream.enqueue(.text(#"{"label":"bug","score":7}"#), .text(#"{"label":"bug","score":4}"#))
            let r = try await classify(h)
            #expect(r.status == 200, "\(r.text)")
            #expect(r.json["output"] == ["label": "bug", "score": 4])
            #expect(upstream.received.count == 2)
            let repair = try #require(upstream.received.last?.json?["messages"]?.arrayValue)
            #expect(repair.dropLast().last?["content"] == #"{"label":"bug","score":7}"#)
            let feedback = repair.last?["content"]?.stringValue ?? ""
            #expect(feedback.contains("/score"), "\(feedback)")
            #expect(feedback.contains("maximum"), "\(feedback)")
            let rec = try await h.record(r.json["call_id"]?.stringValue)
            #expect(rec.repairs == 1)
            #expect(rec.schemaValid == true)
            #expect(rec.attempts.count == 2)
            // Both attempts are costed: 2 × (11 input + 7 output tokens).
            #expect(rec.usage == Usage(inputTokens: 22, outputTokens: 14))
            #expect(rec.costUSD.map { abs($0 - 2 * (11 * 0.15 + 7 * 0.60) / 1e6) < 1e-12 } == true)
        }
    }

    @Test func aNeverValidAnswerIsA422WithTheErrorsAndTheRawText() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("I think it is a bug, maybe."))
        try await Harness.with(try Self.config(upstream)) { h in
            let r = try await classify(h)
            #expect(r.status == 422)
            #expect(r.json["error"]?["code"] == "schema_validation_failed")
            #expect(r.json["error"]?["raw"] == "I think it is a bug, maybe.")
            #expect((r.json["error"]?["errors"]?.arrayValue?.count ?? 0) >= 1)
            #expect(r.json["error"]?["repairs"] == 2)
            #expect(upstream.received.count == 3)
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.status == .error)
            #expect(rec.httpStatus == 422)
            #expect(rec.schemaValid == false)
            #expect(rec.repairs == 2)
            #expect(rec.usage.inputTokens == 33)

            // A raw call with response_format json_schema is validated too, and its JSON extracted.
            upstream.setDefault(.text(#"Here: {"label":"feature","score":5}"#))
            let raw = try await h.chat(#"""
                {"model":"fast","messages":[{"role":"user","content":"classify"}],
                 "response_format":{"type":"json_schema","json_schema":{"name":"c","schema":\#(Self.schema)}}}
                """#)
            #expect(raw.status == 200)
            #expect(raw.json["choices"]?.arrayValue?.first?["message"]?["content"] == #"{"label":"feature","score":5}"#)
            #expect(try await h.record(raw.header("X-Sluice-Call-Id")).schemaValid == true)
        }
    }

    @Test func personalDataIsRedactedBeforeTheProviderAndRestoredForTheApp() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        try await Harness.with(try Self.config(upstream)) { h in
            let body = #"{"model":"fast","messages":[{"role":"user","content":"Mail jane.doe@example.com, card 4111 1111 1111 1111, again jane.doe@example.com"}]}"#
            let r = try await h.chat(body, headers: ["X-Sluice-Purpose": "support"])
            #expect(r.status == 200, "\(r.text)")
            let sent = upstream.received.last.map { String(decoding: $0.body, as: UTF8.self) } ?? ""
            #expect(!sent.contains("jane.doe@example.com"))
            #expect(!sent.contains("4111 1111 1111 1111"))
            #expect(sent.contains("Mail <EMAIL_1>, card <CARD_1>, again <EMAIL_1>"))
            // The fake echoes the (redacted) input; the app gets its own values back.
            #expect(r.json["choices"]?.arrayValue?.first?["message"]?["content"]
                == "fake answer to: Mail jane.doe@example.com, card 4111 1111 1111 1111, again jane.doe@example.com")
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.requestBody?.contains("jane.doe") == false)
            #expect(rec.output?.contains("jane.doe") == false)

            let s = try await h.chat(body.replacingOccurrences(of: #""model":"fast","#, with: #""model":"fast","stream":true,"#), headers: ["X-Sluice-Purpose": "support"])
            let text = Harness.events(s.body).dropLast().compactMap { try? JSON.parse($0) }
                .compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
            #expect(text == "fake answer to: Mail jane.doe@example.com, card 4111 1111 1111 1111, again jane.doe@example.com")

            let count = upstream.received.count
            let blocked = try await h.chat(body, headers: ["X-Sluice-Purpose": "strict"])
            #expect(blocked.status == 400)
            #expect(blocked.json["error"]?["code"] == "pii_detected")
            #expect(blocked.json["error"]?["message"]?.stringValue?.contains("EMAIL, CARD") == true)
            #expect(upstream.received.count == count)
            let brec = try await h.record(blocked.header("X-Sluice-Call-Id"))
            #expect(brec.requestBody == nil)
        }
    }

    @Test func guardsBlockOrFlagAndFlaggedOutputsAwaitReview() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        try await Harness.with(try Self.config(upstream)) { h in
            let blocked = try await h.chat(
                #"{"model":"fast","messages":[{"role":"user","content":"please DROP   TABLE users"}]}"#, headers: ["X-Sluice-Purpose": "support"])
            #expect(blocked.status == 400)
            #expect(blocked.json["error"]?["code"] == "guard_blocked")
            #expect(blocked.json["error"]?["message"]?.stringValue?.contains("'no_sql'") == true)
            #expect(upstream.received.isEmpty)

            upstream.setDefault(.text("We will refund you today."))
            let flagged = try await h.chat(#"{"model":"fast","messages":[{"role":"user","content":"money back?"}]}"#, headers: ["X-Sluice-Purpose": "support"])
            #expect(flagged.status == 200)
            let reviewID = try #require(flagged.header("X-Sluice-Review-Id"))
            let rec = try await h.record(flagged.header("X-Sluice-Call-Id"))
            #expect(rec.guardFlags == ["output:no_refund_promises"])
            let queue = try await h.request(.GET, "/admin/reviews?status=pending")
            let item = try #require(queue.json["data"]?.arrayValue?.first)
            #expect(item["id"]?.stringValue == reviewID)
            #expect(item["reason"] == "guard_flagged:output:no_refund_promises")
            #expect(item["output"] == "We will refund you today.")
            let approve = try await h.request(.POST, "/admin/reviews/\(reviewID)", body: #"{"action":"approve","note":"fine"}"#)
            #expect(approve.status == 200, "\(approve.text)")
            #expect(approve.json["status"] == "approved")
            let again = try await h.request(.POST, "/admin/reviews/\(reviewID)", body: #"{"action":"reject"}"#)
            #expect(again.status == 409)
            #expect(try await h.request(.GET, "/admin/reviews?status=pending").json["data"]?.arrayValue?.isEmpty == true)

            upstream.setDefault(.text("I'm sorry, but I can't help with that request."))
            let refused = try await h.chat(#"{"model":"fast","messages":[{"role":"user","content":"hm"}]}"#)
            #expect(try await h.record(refused.header("X-Sluice-Call-Id")).refusal == true)
        }
    }
}
