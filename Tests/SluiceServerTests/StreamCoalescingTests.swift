import AsyncHTTPClient
import Foundation
import NIOCore
import SluiceTesting
import Testing

/// Chunks already received leave together, but a chunk is never held back waiting for the
/// next: on every streamed surface the client reads the first content while the upstream is
/// still sending the rest.
@Suite struct StreamCoalescingTests {
    static let gap = 400  // ms between the upstream's events

    static func config(_ upstream: FakeUpstream) -> String {
        """
        providers:
          up: { type: openai_compatible, base_url: "\(upstream.baseURL)" }
        models:
          fast: { targets: [ { provider: up, model: m } ] }
        \(noRetry)
        """
    }

    /// Seconds from sending `body` to `path` until the client has read `marker`, and until the end.
    static func timeToMarker(_ h: Harness, _ path: String, _ body: String, marker: String) async throws -> (Double, Double) {
        var req = HTTPClientRequest(url: h.base + path)
        req.method = .POST
        req.headers.add(name: "Content-Type", value: "application/json")
        req.body = .bytes(ByteBuffer(string: body))
        let start = ContinuousClock.now
        let res = try await h.client.execute(req, timeout: .seconds(30))
        #expect(res.status.code == 200)
        var seen = "", first: Duration?
        for try await part in res.body {
            seen += String(buffer: part)
            if first == nil, seen.contains(marker) { first = ContinuousClock.now - start }
        }
        let total = ContinuousClock.now - start
        func s(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
        return (s(first ?? total), s(total))
    }

    @Test(arguments: ["chat", "messages", "responses"])
    func theFirstContentIsNotHeldForTheRest(_ surface: String) async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        var reply = FakeUpstream.Reply.text("alpha beta gamma delta epsilon")
        reply.eventDelayMs = Self.gap
        upstream.setDefault(reply)
        try await Harness.with(Self.config(upstream)) { h in
            let (path, body): (String, String) =
                switch surface {
                case "chat": ("/v1/chat/completions", #"{"model":"fast","stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
                case "messages":
                    ("/v1/messages", #"{"model":"fast","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
                default: ("/v1/responses", #"{"model":"fast","stream":true,"input":"hi"}"#)
                }
            let (first, total) = try await Self.timeToMarker(h, path, body, marker: "alpha")
            // The upstream takes several gaps in all; the first words must not wait for them.
            #expect(total > 3 * Double(Self.gap) / 1000, "the stream took \(total) s")
            #expect(first < total - 2 * Double(Self.gap) / 1000, "first content after \(first) s of \(total) s")
        }
    }
}
