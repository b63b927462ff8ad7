import Foundation
import SluiceCore
import SluiceTesting
import Testing

/// The chat endpoints' `Idempotency-Key` header: the same key within 24 h gets the
/// stored response back instead of a second upstream call.
@Suite struct IdempotencyTests {
    static let keys = """
        auth:
          keys:
            - { name: app, key: app-secret-idem-1 }
            - { name: other, key: other-secret-idem-1 }
        """
    static func auth(_ key: String = "app-secret-idem-1", idem: String? = nil) -> [String: String] {
        var h = ["Authorization": "Bearer \(key)"]
        if let idem { h["Idempotency-Key"] = idem }
        return h
    }

    @Test func theSameKeyReplaysTheStoredAnswer() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("first answer"))
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
        try await Harness.with(upstreamConfig(upstream, extra: Self.keys), clock: clock) { h in
            let first = try await h.chat(simpleChat, headers: Self.auth(idem: "order-42"))
            #expect(first.status == 200, "\(first.text)")
            #expect(first.header("Idempotent-Replayed") == nil)
            upstream.setDefault(.text("second answer"))

            let again = try await h.chat(simpleChat, headers: Self.auth(idem: "order-42"))
            #expect(again.status == 200)
            #expect(again.body == first.body)
            #expect(again.header("Idempotent-Replayed") == "true")
            #expect(again.header("X-Sluice-Call-Id") == first.header("X-Sluice-Call-Id"))
            #expect(again.header("content-type") == "application/json")
            #expect(upstream.requestCount == 1)

            // Whitespace and key order do not make another request.
            let reordered = #"{"messages":[{"content":"hello","role":"user"}],  "model":"fast"}"#
            #expect(try await h.chat(reordered, headers: Self.auth(idem: "order-42")).body == first.body)

            // Another body under the key is a 409 naming the key; nothing is called.
            let other = try await h.chat(simpleChat.replacingOccurrences(of: "hello", with: "bye"), headers: Self.auth(idem: "order-42"))
            #expect(other.status == 409)
            #expect(other.json["error"]?["code"] == "idempotency_conflict")
            #expect(other.json["error"]?["message"]?.stringValue?.contains("order-42") == true)

            // Another virtual key has its own key space; no key means no replay.
            #expect(try await h.chat(simpleChat, headers: Self.auth("other-secret-idem-1", idem: "order-42")).text.contains("second answer"))
            #expect(try await h.chat(simpleChat, headers: Self.auth()).text.contains("second answer"))
            #expect(upstream.requestCount == 2 + 1)

            // After 24 h the key is fresh again.
            clock.advance(86_401)
            let later = try await h.chat(simpleChat, headers: Self.auth(idem: "order-42"))
            #expect(later.text.contains("second answer"))
            #expect(later.header("Idempotent-Replayed") == nil)
            #expect(upstream.requestCount == 4)
            #expect(try await h.chat(simpleChat, headers: Self.auth(idem: String(repeating: "x", count: 256))).status == 400)
        }
    }

    @Test func aFailedCallIsNotStoredSoARetryCallsAgain() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.enqueue(.status(500))
        upstream.setDefault(.text("recovered"))
        try await Harness.with(upstreamConfig(upstream, extra: Self.keys + "\n" + noRetry)) { h in
            let failed = try await h.chat(simpleChat, headers: Self.auth(idem: "retry-me"))
            #expect(failed.status == 502)
            let retried = try await h.chat(simpleChat, headers: Self.auth(idem: "retry-me"))
            #expect(retried.status == 200)
            #expect(retried.text.contains("recovered"))
            #expect(try await h.chat(simpleChat, headers: Self.auth(idem: "retry-me")).header("Idempotent-Replayed") == "true")
            #expect(upstream.requestCount == 2)
        }
    }

    @Test func aRepeatWhileTheFirstRunsIsAConflict() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        var slow = FakeUpstream.Reply.text("slow")
        slow.delayMs = 600
        upstream.setDefault(slow)
        try await Harness.with(upstreamConfig(upstream, extra: Self.keys)) { h in
            async let first = h.chat(simpleChat, headers: Self.auth(idem: "slow-1"))
            try await Task.sleep(for: .milliseconds(200))
            let second = try await h.chat(simpleChat, headers: Self.auth(idem: "slow-1"))
            #expect(second.status == 409)
            #expect(second.json["error"]?["message"]?.stringValue?.contains("in progress") == true)
            #expect(try await first.status == 200)
            #expect(upstream.requestCount == 1)
        }
    }

    @Test func streamsAndMessagesReplayWhatTheClientGot() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("streamed words here"))
        try await Harness.with(upstreamConfig(upstream, extra: Self.keys)) { h in
            let stream = simpleChat.replacingOccurrences(of: #""model":"fast""#, with: #""model":"fast","stream":true"#)
            let first = try await h.chat(stream, headers: Self.auth(idem: "s-1"))
            #expect(Harness.events(first.body).last == "[DONE]")
            let again = try await h.chat(stream, headers: Self.auth(idem: "s-1"))
            #expect(again.body == first.body)
            #expect(again.header("content-type") == "text/event-stream")
            #expect(again.header("Idempotent-Replayed") == "true")

            let message = #"{"model":"fast","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}"#
            let m1 = try await h.request(.POST, "/v1/messages", body: message, headers: ["x-api-key": "app-secret-idem-1", "Idempotency-Key": "m-1"])
            #expect(m1.json["type"] == "message", "\(m1.text)")
            let m2 = try await h.request(.POST, "/v1/messages", body: message, headers: ["x-api-key": "app-secret-idem-1", "Idempotency-Key": "m-1"])
            #expect(m2.body == m1.body)
            // The same key on another endpoint is another request.
            let conflict = try await h.request(.POST, "/v1/messages", body: message, headers: ["x-api-key": "app-secret-idem-1", "Idempotency-Key": "s-1"])
            #expect(conflict.status == 409)
            #expect(conflict.json["type"] == "error")
            #expect(upstream.requestCount == 2)
        }
    }

    @Test func aBrokenStreamIsNotStored() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        var cut = FakeUpstream.Reply.text("one two three four five")
        cut.cutAfterEvents = 2
        upstream.enqueue(cut)
        upstream.setDefault(.text("whole"))
        try await Harness.with(upstreamConfig(upstream, extra: Self.keys + "\n" + noRetry)) { h in
            let stream = simpleChat.replacingOccurrences(of: #""model":"fast""#, with: #""model":"fast","stream":true"#)
            let broken = try await h.chat(stream, headers: Self.auth(idem: "cut-1"))
            #expect(broken.text.contains("error"))
            let again = try await h.chat(stream, headers: Self.auth(idem: "cut-1"))
            #expect(again.header("Idempotent-Replayed") == nil)
            #expect(again.text.contains("whole"))
            #expect(upstream.requestCount == 2)
        }
    }
}
