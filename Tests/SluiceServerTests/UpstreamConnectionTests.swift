import AsyncHTTPClient
import Foundation
import NIOCore
import SluiceTesting
import Testing

/// A stream (or a slow answer) holds its upstream connection to the end, so open calls to one
/// upstream are bounded by the connections Sluice opens to it: 1,200 calls at once all reach the
/// upstream together, none queued behind another (at 512 a loop, only 1,024 did).
@Suite struct UpstreamConnectionTests {
    @Test func twelveHundredSlowCallsAreAllOpenUpstreamAtOnce() async throws {
        let calls = 1_200
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        var slow = FakeUpstream.Reply.text("ok")
        slow.delayMs = 3_000
        upstream.setDefault(slow)
        var config = HTTPClient.Configuration()
        config.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: calls)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        defer { Task { try? await client.shutdown() } }
        try await exclusively {
            try await Harness.with(
                """
                providers:
                  up: { type: openai_compatible, base_url: "\(upstream.baseURL)" }
                models:
                  m: { targets: [ { provider: up, model: m } ] }
                \(noRetry)
                """
            ) { h in
                let statuses = try await withThrowingTaskGroup(of: UInt.self) { group in
                    for _ in 0..<calls {
                        group.addTask {
                            var req = HTTPClientRequest(url: h.base + "/v1/chat/completions")
                            req.method = .POST
                            req.headers.add(name: "Content-Type", value: "application/json")
                            req.body = .bytes(ByteBuffer(string: #"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#))
                            let res = try await client.execute(req, timeout: .seconds(60))
                            _ = try await res.body.collect(upTo: 1 << 20)
                            return res.status.code
                        }
                    }
                    return try await group.reduce(into: [UInt]()) { $0.append($1) }
                }
                #expect(statuses.filter { $0 != 200 }.isEmpty, "\(Set(statuses))")
                #expect(upstream.peakInFlight == calls, "only \(upstream.peakInFlight) of \(calls) were open upstream at once")
            }
        }
    }
}
