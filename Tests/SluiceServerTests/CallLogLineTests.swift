import Foundation
import Logging
import SluiceCore
import SluiceEngine
import SluiceTesting
import Testing

/// The request log: one JSON line per call that says how the call was decided,
/// grep-able by run id, and kept apart from the background log.
@Suite struct CallLogLineTests {
    @Test func eachLineSaysHowTheCallWasDecided() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let yaml = """
            providers:
              up: { type: openai_compatible, base_url: "\(upstream.baseURL)", api_key: "sk-provider-secret-123" }
              sim: { type: simulated }
            models:
              dual:
                targets:
                  - { provider: up, model: gpt-4o-mini-2024-07-18 }
                  - { provider: sim, model: sim-small, priority: 2 }
            pricing:
              gpt-4o-mini-2024-07-18: { input: 1.0, output: 2.0 }
            purposes:
              cached: { model: dual, cache: { ttl: 1h } }
              capped: { model: dual, daily_budget_usd: 0.0000001 }
            \(noRetry)
            """
        try await Harness.with(yaml) { h in
            func call(_ purpose: String, _ text: String) async throws -> [String: JSON] {
                let r = try await h.chat(#"{"model":"dual","messages":[{"role":"user","content":"\#(text)"}]}"#,
                                         headers: ["X-Sluice-Purpose": purpose, "X-Sluice-Run-Id": "run-42"])
                let id = try #require(r.header("X-Sluice-Call-Id"))
                let line = try #require(h.logs.all.first { $0.contains(id) })
                let json = try JSON.parse(line)
                return Dictionary(uniqueKeysWithValues: (json.objectValue ?? JSONObject()).map { ($0.key, $0.value) })
            }
            upstream.enqueue(.status(500))
            let fell = try await call("cached", "a")
            #expect(fell["log"]?.stringValue == "call")
            #expect(fell["decision"]?["fallback"]?.boolValue == true)
            #expect(fell["decision"]?["attempts"]?.intValue == 2)
            #expect(fell["decision"]?["cache"]?.stringValue == "miss")
            #expect(fell["decision"]?["budget"]?.stringValue == "ok")
            #expect(fell["provider"]?.stringValue == "sim")

            let hit = try await call("cached", "a")
            #expect(hit["decision"]?["cache"]?.stringValue == "hit")
            #expect(hit["decision"]?["fallback"]?.boolValue == false)

            let refused = try await call("capped", "b")
            #expect(refused["status"]?.stringValue == "error")
            #expect(refused["error_code"]?.stringValue == "budget_exceeded")
            #expect(refused["decision"]?["budget"]?.stringValue == "budget_exceeded")

            // Every line of the run carries its id.
            #expect(h.logs.all.filter { $0.contains(#""run_id":"run-42""#) }.count == 3)
        }
    }

    @Test func callLinesAndBackgroundLinesGoToTheirOwnSinks() throws {
        let calls = LogCapture()
        let background = LogCapture()
        let logger = Logger(label: "sluice") { label in
            JSONLogHandler(label: label, sink: .closure { background.append($0) }, callSink: .closure { calls.append($0) })
        }
        logger.info("call", metadata: ["call": .stringConvertible(LogFields(["log": "call", "call_id": "call_1"]))])
        logger.info("call log drained")
        #expect(calls.all.count == 1 && calls.all[0].contains("call_1"))
        #expect(background.all.count == 1 && background.all[0].contains("drained"))
    }
}
