import Foundation
import HTTPTypes
import NIOCore
import NIOHTTPTypes
import SluiceCore
import Testing

@testable import SluiceServer

/// The fast lane answers `POST /v1/chat/completions` from the channel pipeline; these
/// check that it keeps HTTP/1.1's promises: responses in request order on a pipelined
/// connection, `Connection: close`, the body limit, and Hummingbird for everything else.
@Suite struct FastLaneTests {
    static let chat = #"{"model":"sim-small","messages":[{"role":"user","content":"hi"}]}"#

    static func post(_ body: String, headers: String = "") -> String {
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\(headers)Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await Harness.with { h in
            let before = FastLane.answered.load(ordering: .relaxed)
            let raw = try RawHTTPConnection(port: h.port)
            defer { raw.close() }
            // Lane, router, lane, router with a body (an unknown route), lane: one write.
            let notFound = #"{"x":1}"#
            try raw.send(
                Self.post(Self.chat) + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + Self.post(Self.chat)
                    + "POST /v1/nope HTTP/1.1\r\nHost: x\r\nContent-Length: \(notFound.utf8.count)\r\n\r\n\(notFound)"
                    + Self.post(#"{"model":"sim-small"}"#))
            let responses = try await raw.offThread { try $0.readResponses(5) }
            #expect(responses.map(\.status) == [200, 200, 200, 404, 400])
            #expect(responses[0].json["object"]?.stringValue == "chat.completion")
            #expect(responses[1].json["status"]?.stringValue == "ok")
            #expect(responses[2].json["object"]?.stringValue == "chat.completion")
            #expect(responses[3].json["error"] != nil)
            #expect(responses[4].json["error"]?["message"]?.stringValue?.contains("messages") == true)
            #expect(responses[0].headers["x-sluice-call-id"] != responses[2].headers["x-sluice-call-id"])
            #expect(responses.allSatisfy { $0.headers["date"] != nil })
            // The lane took the first call; the others queued behind the router's answers went to it.
            #expect(FastLane.answered.load(ordering: .relaxed) - before >= 1)
            // Two lane calls back to back: the second waits for the first.
            let lane = FastLane.answered.load(ordering: .relaxed)
            try raw.send(Self.post(Self.chat) + Self.post(Self.chat))
            let pair = try await raw.offThread { try $0.readResponses(2) }
            #expect(pair.map(\.status) == [200, 200])
            #expect(pair[0].headers["x-sluice-call-id"] != pair[1].headers["x-sluice-call-id"])
            #expect(FastLane.answered.load(ordering: .relaxed) - lane >= 2)
        }
    }

    @Test func anthropicMessagesTakeTheLaneWithAnthropicErrors() async throws {
        try await Harness.with { h in
            let before = FastLane.answered.load(ordering: .relaxed)
            let raw = try RawHTTPConnection(port: h.port)
            defer { raw.close() }
            let message = #"{"model":"sim-small","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}"#
            func post(_ body: String) -> String {
                "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
            }
            try raw.send(post(message) + post("not json"))
            let responses = try await raw.offThread { try $0.readResponses(2) }
            #expect(responses.map(\.status) == [200, 400])
            #expect(responses[0].json["type"]?.stringValue == "message")
            #expect(responses[0].json["role"]?.stringValue == "assistant")
            #expect(responses[1].json["type"]?.stringValue == "error")
            #expect(responses[1].json["error"]?["type"]?.stringValue == "invalid_request_error")
            #expect(FastLane.answered.load(ordering: .relaxed) - before >= 2)
        }
    }

    @Test func connectionCloseClosesAfterTheAnswer() async throws {
        try await Harness.with { h in
            let raw = try RawHTTPConnection(port: h.port)
            defer { raw.close() }
            try raw.send(Self.post(Self.chat, headers: "Connection: close\r\n"))
            let responses = try await raw.offThread { try $0.readResponses(1) }
            #expect(responses.first?.status == 200)
            #expect(try await raw.offThread { try $0.readToEnd() }.isEmpty)
        }
    }

    @Test func aClientThatClosesItsSideAfterTheRequestStillGetsTheAnswer() async throws {
        try await Harness.with { h in
            let raw = try RawHTTPConnection(port: h.port)
            defer { raw.close() }
            try raw.send(Self.post(Self.chat))
            raw.shutdownWrite()
            let responses = try await raw.offThread { try $0.readResponses(1) }
            #expect(responses.first?.status == 200)
            #expect(responses.first?.json["object"]?.stringValue == "chat.completion")
        }
    }

    @Test func anOversizedBodyIsRefusedAndTheConnectionGoesOn() async throws {
        try await Harness.with("server: { max_body_bytes: 1024 }") { h in
            let raw = try RawHTTPConnection(port: h.port)
            defer { raw.close() }
            let big = #"{"model":"sim-small","messages":[{"role":"user","content":""# + String(repeating: "a", count: 4000) + #""}]}"#
            try raw.send(Self.post(big) + Self.post(Self.chat))
            let responses = try await raw.offThread { try $0.readResponses(2) }
            #expect(responses.map(\.status) == [413, 200])
            #expect(responses[0].json["error"]?["message"]?.stringValue?.contains("server.max_body_bytes") == true)
        }
    }

    @Test func idempotentCallsStillGoThroughTheRouter() async throws {
        try await Harness.with { h in
            let first = try await h.chat(Self.chat, headers: ["Idempotency-Key": "k-1"])
            let again = try await h.chat(Self.chat, headers: ["Idempotency-Key": "k-1"])
            #expect(first.status == 200)
            #expect(again.header("Idempotent-Replayed") == "true")
            #expect(again.text == first.text)
        }
    }

    // The state machine alone.

    static func head(_ path: String = "/v1/chat/completions", length: Int? = nil) -> HTTPRequest {
        var r = HTTPRequest(method: .post, scheme: nil, authority: "x", path: path)
        if let length { r.headerFields[.contentLength] = String(length) }
        return r
    }

    static let acceptsChat: @Sendable (HTTPRequest) -> Bool = { $0.path == "/v1/chat/completions" }

    @Test func aRequestArrivingWhileTheLaneAnswersWaitsItsTurn() {
        var s = FastLaneState(limit: 100)
        #expect(isKeep(s.receive(.head(Self.head()), accepts: Self.acceptsChat)))
        #expect(isKeep(s.receive(.body(ByteBuffer(string: "{}")), accepts: Self.acceptsChat)))
        guard case .answer(_, let body, let tooLarge) = s.receive(.end(nil), accepts: Self.acceptsChat) else {
            Issue.record("expected an answer")
            return
        }
        #expect(String(buffer: body) == "{}")
        #expect(!tooLarge)
        #expect(s.holdsReads && s.busy)
        #expect(isKeep(s.receive(.head(Self.head("/healthz")), accepts: Self.acceptsChat)))
        #expect(isKeep(s.receive(.end(nil), accepts: Self.acceptsChat)))
        s.readPending = true
        let resume = s.responded()
        #expect(resume.parts.count == 2)
        #expect(resume.read)
        #expect(s.mode == .idle)
    }

    @Test func whileTheRouterOwesAResponseEverythingGoesToIt() {
        var s = FastLaneState(limit: 100)
        #expect(isForward(s.receive(.head(Self.head("/healthz")), accepts: Self.acceptsChat)))
        #expect(isForward(s.receive(.end(nil), accepts: Self.acceptsChat)))
        // Pipelined behind it: a chat call must not overtake the router's answer.
        #expect(isForward(s.receive(.head(Self.head()), accepts: Self.acceptsChat)))
        #expect(isForward(s.receive(.end(nil), accepts: Self.acceptsChat)))
        s.routerResponded()
        s.routerResponded()
        #expect(isKeep(s.receive(.head(Self.head()), accepts: Self.acceptsChat)))
    }

    @Test func aBodyOverTheLimitIsDroppedAndFlagged() {
        var s = FastLaneState(limit: 4)
        _ = s.receive(.head(Self.head()), accepts: Self.acceptsChat)
        _ = s.receive(.body(ByteBuffer(string: "abc")), accepts: Self.acceptsChat)
        _ = s.receive(.body(ByteBuffer(string: "def")), accepts: Self.acceptsChat)
        guard case .answer(_, let body, let tooLarge) = s.receive(.end(nil), accepts: Self.acceptsChat) else {
            Issue.record("expected an answer")
            return
        }
        #expect(tooLarge)
        #expect(body.readableBytes == 0)
        var declared = FastLaneState(limit: 4)
        _ = declared.receive(.head(Self.head(length: 10)), accepts: Self.acceptsChat)
        guard case .answer(_, _, let flagged) = declared.receive(.end(nil), accepts: Self.acceptsChat) else {
            Issue.record("expected an answer")
            return
        }
        #expect(flagged)
    }

    @Test func theDateHeaderIsAnIMFFixdate() {
        #expect(HTTPDate.format(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.format(1_795_500_005) == "Tue, 24 Nov 2026 06:00:05 GMT")
    }

    func isKeep(_ a: FastLaneState.Action) -> Bool { if case .keep = a { true } else { false } }
    func isForward(_ a: FastLaneState.Action) -> Bool { if case .forward = a { true } else { false } }
}
