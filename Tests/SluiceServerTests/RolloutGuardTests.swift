import Foundation
import SluiceCore
import SluiceEngine
import SluiceStore
import SluiceTesting
import Testing

/// Guarded canaries: the schema-valid limit, the window the guard judges, and the background service.
@Suite struct RolloutGuardTests {
    static let schema = #"{"type":"object","properties":{"label":{"type":"string"}},"required":["label"]}"#

    /// Triage on `good` (model `fast`, prompt v3) with a `broken` model on `bad` for the canary.
    static func config(good: FakeUpstream, bad: FakeUpstream, triage: String = "{ prompt: triage, prompt_version: v3, model: fast }") throws -> String {
        let extra = """
              broken: { targets: [ { provider: down, model: gpt-4o } ] }
            """
        return FlagTests.config(good, prompts: try FlagTests.versionedPrompts(), triage: triage, extraModels: extra)
            .replacingOccurrences(of: "providers:\n", with: "providers:\n  down: { type: openai_compatible, base_url: \"\(bad.baseURL)\" }\n")
    }

    /// Starts a 50 % canary of v4 on the broken model with `guard`.
    static func startCanary(_ h: Harness, percent: Int = 50, guard spec: String) async throws {
        let body = #"{"triage.variants": {"v3": \#(100 - percent), "v4": {"percent": \#(percent), "prompt_version": "v4", "model": "broken"}}, "triage.guard": \#(spec)}"#
        let r = try await h.request(.PUT, "/admin/flags", body: body, headers: FlagTests.admin)
        #expect(r.status == 200, "\(r.text)")
        #expect(r.json["effective"]?["triage"]?["guard"]?["canary"] == "v4")
    }

    /// Runs triage for users c0, c1… until `enough` canary calls failed; returns how many did.
    static func failCanary(_ h: Harness, enough: Int = 6) async throws -> Int {
        var failed = 0
        for i in 0..<80 where failed < enough {
            let r = try await h.request(.POST, "/v1/purposes/triage/run", body: #"{"variables":{"ticket":"t"},"user":"c\#(i)"}"#)
            if r.status != 200 { failed += 1 }
        }
        return failed
    }

    /// The guard's audit entries: the guard and the variants flag, removed by `sluice:guard`.
    static func rollbacks(_ h: Harness) async throws -> [JSON] {
        let audit = try await h.request(.GET, "/admin/audit", headers: FlagTests.admin).json["data"]?.arrayValue ?? []
        return audit.filter { $0["action"] == "flags.rollback" }
    }

    @Test func aGuardedCanaryRollsBackWhenItsSchemaValidRateBreaches() async throws {
        let good = try await FakeUpstream.start()
        defer { Task { await good.stop() } }
        good.setDefault(.text(#"{"label":"bug"}"#))
        let bad = try await FakeUpstream.start()
        defer { Task { await bad.stop() } }
        bad.setDefault(.text("I think it is a bug, maybe."))
        let triage = "{ prompt: triage, prompt_version: v3, model: fast, output_schema: \(Self.schema), repair_attempts: 0 }"
        // The service waits an hour: only the checks below judge.
        try await Harness.with(try Self.config(good: good, bad: bad, triage: triage), guardInterval: .seconds(3600)) { h in
            try await Self.startCanary(h, guard: #"{"min_schema_valid_rate": 0.8, "min_calls": 5}"#)
            #expect(await h.gateway.rolloutGuard.check().isEmpty)
            #expect(try await Self.failCanary(h) >= 5)
            await h.gateway.callLog.flush()
            let canary = try await h.gateway.store.list(CallFilter(purpose: "triage", variant: "v4", limit: 100))
            #expect(canary.count >= 5 && canary.allSatisfy { $0.schemaValid == false && $0.httpStatus == 422 })

            #expect(await h.gateway.rolloutGuard.check() == ["triage"])
            #expect(try await h.request(.GET, "/admin/flags", headers: FlagTests.admin).json["flags"] == [:])
            for i in 0..<10 {
                let r = try await h.request(.POST, "/v1/purposes/triage/run", body: #"{"variables":{"ticket":"t"},"user":"c\#(i)"}"#)
                #expect(r.status == 200 && r.json["prompt_version"] == "v3", "\(r.text)")
            }
            let rollbacks = try await Self.rollbacks(h)
            #expect(rollbacks.count == 2)  // the guard and the variants
            #expect(rollbacks.allSatisfy { $0["actor"] == "sluice:guard" })
            let reason = rollbacks.first?["reason"]?.stringValue ?? ""
            #expect(reason.contains("schema-valid rate 0%") && reason.contains("min_schema_valid_rate 80%"), "\(reason)")
            #expect(await h.gateway.rolloutGuard.check().isEmpty)
        }
    }

    @Test func theGuardJudgesTheCanarysOwnCallsNotThePurposesNewest() async throws {
        let good = try await FakeUpstream.start()
        defer { Task { await good.stop() } }
        let bad = try await FakeUpstream.start()
        defer { Task { await bad.stop() } }
        try await Harness.with(try Self.config(good: good, bad: bad), guardInterval: .seconds(3600)) { h in
            try await Self.startCanary(h, percent: 5, guard: #"{"max_error_rate": 0.2, "min_calls": 5}"#)
            // Six failed canary calls, then 1,000 newer healthy calls of the other arm, as a 5 % canary sees.
            let start = Date().addingTimeInterval(0.5)
            var rows: [CallRecord] = (0..<6).map { i in
                var r = CallRecord(
                    callID: IDs.callID(at: start.addingTimeInterval(Double(i) / 1000)), createdAt: start, purpose: "triage", model: "broken",
                    status: .error, httpStatus: 502)
                r.variant = "v4"
                return r
            }
            for i in 0..<1000 {
                let at = start.addingTimeInterval(1 + Double(i) / 1000)
                var r = CallRecord(callID: IDs.callID(at: at), createdAt: at, purpose: "triage", model: "fast")
                r.variant = "v3"
                rows.append(r)
            }
            try await h.gateway.store.insert(rows)
            #expect(await h.gateway.rolloutGuard.check() == ["triage"])
            let reason = try await Self.rollbacks(h).first?["reason"]?.stringValue ?? ""
            #expect(reason.contains("error rate 100% over 6 calls"), "\(reason)")
        }
    }

    @Test func theGuardServiceRollsBackOnItsOwn() async throws {
        let good = try await FakeUpstream.start()
        defer { Task { await good.stop() } }
        good.setDefault(.text("fine"))
        let bad = try await FakeUpstream.start()
        defer { Task { await bad.stop() } }
        bad.setDefault(.status(500))
        // No direct check(): the running service (every 100 ms) must notice and roll back.
        try await Harness.with(try Self.config(good: good, bad: bad), guardInterval: .milliseconds(100)) { h in
            try await Self.startCanary(h, guard: #"{"max_error_rate": 0.2, "min_calls": 5}"#)
            #expect(try await Self.failCanary(h) >= 5)
            let deadline = ContinuousClock.now + .seconds(10)
            var flags: JSON = .null
            while ContinuousClock.now < deadline {
                flags = try await h.request(.GET, "/admin/flags", headers: FlagTests.admin).json["flags"] ?? .null
                if flags == [:] { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(flags == [:], "the guard service did not roll back within 10 s")
            let rollbacks = try await Self.rollbacks(h)
            #expect(rollbacks.count == 2 && rollbacks.allSatisfy { $0["actor"] == "sluice:guard" })
            #expect(rollbacks.first?["reason"]?.stringValue?.contains("error rate") == true)
            #expect(h.logs.text.contains("canary rolled back"))
            for i in 0..<5 {
                let r = try await h.request(.POST, "/v1/purposes/triage/run", body: #"{"variables":{"ticket":"t"},"user":"c\#(i)"}"#)
                #expect(r.status == 200 && r.json["prompt_version"] == "v3")
            }
        }
    }
}
