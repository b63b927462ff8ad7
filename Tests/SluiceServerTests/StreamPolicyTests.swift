import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// Output policies on streamed answers: guards under `stream_guard: buffer` and
/// `incremental`, review of streamed answers, and shadows of streams and of `/v1/messages`.
@Suite struct StreamPolicyTests {
    static func config(_ upstream: FakeUpstream, _ shadow: FakeUpstream? = nil) -> String {
        """
        providers:
          up: { type: openai_compatible, base_url: "\(upstream.baseURL)" }
          alt: { type: openai_compatible, base_url: "\((shadow ?? upstream).baseURL)" }
        models:
          fast: { targets: [ { provider: up, model: live-model-1 } ] }
          smart: { targets: [ { provider: alt, model: shadow-model-1 } ] }
        \(noRetry)
        purposes:
          held:
            guards: { output: [ { name: no_secrets, deny: ["launch\\\\s+code"] } ] }
          cut:
            stream_guard: incremental
            guards: { output: [ { name: no_secrets, deny: ["launch\\\\s+code"] }, { name: polite, require: [please] } ] }
          flagged:
            guards: { output: [ { name: mentions_refund, forbid: [refund], action: flag } ] }
            review: { when: guard_flagged }
          reviewed: { review: { when: always } }
          shadowed: { model: fast, shadow: { model: smart, sample: 1 } }
        """
    }

    static func streamed(_ text: String = "hi") -> String {
        #"{"model":"fast","stream":true,"messages":[{"role":"user","content":"\#(text)"}]}"#
    }

    /// `buffer` (the default when a guard can block): a matching stream is answered as a 422
    /// error and none of its text leaves Sluice; a passing one is replayed whole.
    @Test func bufferNeverDeliversABlockedStream() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        try await Harness.with(Self.config(upstream)) { h in
            upstream.enqueue(.text("Sure, the launch code is 0000. Anything else?"))
            let r = try await h.chat(Self.streamed(), headers: ["X-Sluice-Purpose": "held"])
            #expect(r.status == 422, "\(r.text)")
            #expect(r.json["error"]?["code"] == "output_blocked")
            #expect(r.json["error"]?["param"] == "guard:no_secrets")
            #expect(!r.text.contains("0000") && !r.text.contains("Sure"), "\(r.text)")
            #expect(r.header("content-type")?.hasPrefix("application/json") == true)
            // The call log has it at once (no sleep): the failed call is a row.
            let id = try #require(r.header("X-Sluice-Call-Id"))
            let row = try await h.request(.GET, "/admin/calls/\(id)")
            #expect(row.status == 200, "\(row.text)")
            let rec = try await h.record(id)
            #expect(rec.status == .error && rec.httpStatus == 422 && rec.stream)
            #expect(rec.error?.contains("no_secrets") == true)
            #expect(rec.output == nil)
            #expect(h.logs.all.contains { $0.contains(id) && $0.contains("output_blocked") })

            upstream.enqueue(.text("All good here, nothing secret."))
            let ok = try await h.chat(Self.streamed(), headers: ["X-Sluice-Purpose": "held"])
            #expect(ok.status == 200)
            let text = Harness.events(ok.body).compactMap { try? JSON.parse(Array($0.utf8)) }
                .compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
            #expect(text == "All good here, nothing secret.")
            #expect(Harness.events(ok.body).last == "[DONE]")
        }
    }

    /// `incremental`: chunks pass until the window matches; the stream then ends with an
    /// error event naming the rule, never `[DONE]`. A `require` rule is judged at the end.
    @Test func incrementalEndsWithAnErrorEvent() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        try await Harness.with(Self.config(upstream)) { h in
            upstream.enqueue(.text("Please wait. The launch code is 0000 and more text follows here."))
            let r = try await h.chat(Self.streamed(), headers: ["X-Sluice-Purpose": "cut"])
            #expect(r.status == 200)
            let events = Harness.events(r.body)
            #expect(!events.contains("[DONE]"))
            let last = try JSON.parse(Array(try #require(events.last).utf8))
            #expect(last["error"]?["code"] == "output_blocked")
            #expect(last["error"]?["param"] == "guard:no_secrets")
            let delivered = events.compactMap { try? JSON.parse(Array($0.utf8)) }
                .compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
            #expect(delivered.hasPrefix("Please wait."))
            #expect(!delivered.contains("launch code"), "the chunk completing the match is never sent: \(delivered)")
            #expect(!delivered.contains("more text"))
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.status == .error && rec.httpStatus == 422)
            #expect(rec.error?.contains("no_secrets") == true)

            // Nothing denied, but the required word is missing: the end is an error event too.
            upstream.enqueue(.text("Fine, here you go."))
            let missing = try await h.chat(Self.streamed(), headers: ["X-Sluice-Purpose": "cut"])
            let tail = Harness.events(missing.body)
            #expect(!tail.contains("[DONE]"))
            #expect(try JSON.parse(Array(try #require(tail.last).utf8))["error"]?["param"] == "guard:polite")
        }
    }

    /// A streamed answer is queued for review when it ends: `always`, and `guard_flagged` with
    /// the flag in the record; the review id comes as a trailer where headers are gone.
    @Test func streamedAnswersAreReviewed() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        try await Harness.with(Self.config(upstream)) { h in
            upstream.enqueue(.text("Here is a streamed answer."))
            let r = try await h.chat(Self.streamed(), headers: ["X-Sluice-Purpose": "reviewed"])
            #expect(r.status == 200)
            let id = try #require(r.header("X-Sluice-Call-Id"))
            let items = try await h.gateway.store.reviews(status: nil, purpose: "reviewed", limit: 10, before: nil)
            let item = try #require(items.first { $0.callID == id })
            #expect(item.output == "Here is a streamed answer.")
            #expect(item.reason == "always")
            #expect(r.text.contains(": x-sluice-review-id \(item.id)"))

            upstream.enqueue(.text("We can offer a refund."))
            let flagged = try await h.chat(Self.streamed(), headers: ["X-Sluice-Purpose": "flagged"])
            #expect(flagged.status == 200 && Harness.events(flagged.body).last == "[DONE]")
            let fid = try #require(flagged.header("X-Sluice-Call-Id"))
            let rec = try await h.record(fid)
            #expect(rec.guardFlags == ["output:mentions_refund"])
            let flaggedItems = try await h.gateway.store.reviews(status: nil, purpose: "flagged", limit: 10, before: nil)
            #expect(flaggedItems.contains { $0.callID == fid && $0.reason == "guard_flagged:output:mentions_refund" })
        }
    }

    /// A purpose with a shadow fires it for a streamed chat call (once the stream ended) and for
    /// `/v1/messages`, whole and streamed; the shadow runs whole.
    @Test func shadowsFireForStreamsAndMessages() async throws {
        let live = try await FakeUpstream.start()
        let shadow = try await FakeUpstream.start()
        defer { Task { await live.stop(); await shadow.stop() } }
        shadow.setDefault(.text("shadow answer"))
        try await Harness.with(Self.config(live, shadow)) { h in
            let headers = ["X-Sluice-Purpose": "shadowed"]
            let s = try await h.chat(Self.streamed("streamed chat"), headers: headers)
            #expect(Harness.events(s.body).last == "[DONE]")
            let m = try await h.request(
                .POST, "/v1/messages", body: #"{"model":"fast","max_tokens":50,"messages":[{"role":"user","content":"whole message"}]}"#,
                headers: headers)
            #expect(m.status == 200, "\(m.text)")
            let ms = try await h.request(
                .POST, "/v1/messages",
                body: #"{"model":"fast","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"streamed message"}]}"#,
                headers: headers)
            #expect(ms.status == 200 && ms.text.contains("message_stop"), "\(ms.text)")
            await h.gateway.shadows.idle()
            await h.gateway.callLog.flush()
            let rows = try await h.gateway.store.list(CallFilter(purpose: "shadowed:shadow", limit: 10))
            let live = [s, m, ms].compactMap { $0.header("X-Sluice-Call-Id") }
            #expect(Set(rows.compactMap(\.shadowOf)) == Set(live))
            #expect(rows.allSatisfy { !$0.stream && $0.output == "shadow answer" && $0.model == "smart" })
            #expect(shadow.received.allSatisfy { $0.json?["stream"] == nil || $0.json?["stream"] == false })
        }
    }
}
