import Foundation
import SluiceCore
import SluiceEngine
import SluiceStore
import SluiceTesting
import Testing

/// Variants, live flags, config reload and guarded canaries.
@Suite struct FlagTests {
    /// A prompts dir with `triage` v3 and v4, each saying its version in the system message.
    static func versionedPrompts(in given: String? = nil) throws -> String {
        let dir = try given ?? PurposeCacheTests.promptsDir()
        try FileManager.default.createDirectory(atPath: dir + "/triage", withIntermediateDirectories: true)
        for v in ["v3", "v4"] {
            try """
                name: triage
                version: \(v)
                messages:
                  - role: system
                    content: "Label (\(v))."
                  - role: user
                    content: "Ticket: {{ticket}}"
                """.write(toFile: dir + "/triage/\(v).prompt.yaml", atomically: true, encoding: .utf8)
        }
        return dir
    }

    static func config(_ upstream: FakeUpstream, prompts: String, triage: String, extraModels: String = "") -> String {
        """
        auth:
          admin_key: admin-secret-flags-1
        providers:
          up: { type: openai_compatible, base_url: "\(upstream.baseURL)" }
        models:
          fast: { targets: [ { provider: up, model: gpt-4o-mini } ] }
          smart: { targets: [ { provider: up, model: gpt-4o } ] }
        \(extraModels)
        prompts_dir: "\(prompts)"
        purposes:
          triage: \(triage)
        retry: { max_attempts: 1 }
        """
    }

    static let admin = ["Authorization": "Bearer admin-secret-flags-1", "X-Sluice-Actor": "alice"]

    /// Runs triage for `user`; returns (variant, prompt_version, model sent upstream).
    static func run(_ h: Harness, user: String, upstream: FakeUpstream) async throws -> (String?, String?, String?) {
        let r = try await h.request(.POST, "/v1/purposes/triage/run", body: #"{"variables":{"ticket":"t"},"user":"\#(user)"}"#)
        #expect(r.status == 200, "\(r.text)")
        return (r.json["variant"]?.stringValue, r.json["prompt_version"]?.stringValue, upstream.received.last?.json?["model"]?.stringValue)
    }

    @Test func fortyUsersStickToTheirArmAndBothArmsServe() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("bug"))
        let yaml = Self.config(
            upstream, prompts: try Self.versionedPrompts(),
            triage: "{ prompt: triage, prompt_version: v3, model: fast, variants: { v3: 50, v4: { percent: 50, prompt_version: v4, model: smart } } }")
        try await Harness.with(yaml) { h in
            var arms: [String: String] = [:]
            for round in 0..<2 {
                for i in 0..<40 {
                    let user = "user-" + String(i)
                    let (variant, version, model) = try await Self.run(h, user: user, upstream: upstream)
                    let arm = try #require(variant)
                    if round == 0 { arms[user] = arm } else { #expect(arms[user] == arm, "\(user) moved arm") }
                    #expect(version == arm)
                    #expect(model == (arm == "v4" ? "gpt-4o" : "gpt-4o-mini"))
                    let system = upstream.received.last?.json?["messages"]?.arrayValue?.first?["content"]?.stringValue
                    #expect(system == "Label (\(arm)).")
                }
            }
            let counts = Dictionary(grouping: arms.values, by: { $0 }).mapValues(\.count)
            #expect((counts["v3"] ?? 0) >= 5 && (counts["v4"] ?? 0) >= 5, "\(counts)")
            // Every call row records its arm.
            await h.gateway.callLog.flush()
            let rows = try await h.gateway.store.list(CallFilter(purpose: "triage", limit: 200))
            #expect(rows.count == 80)
            #expect(rows.allSatisfy { $0.variant == $0.promptVersion && $0.variant != nil })
            #expect(Set(rows.compactMap(\.variant)) == ["v3", "v4"])
        }
    }

    @Test func aFlagFlipChangesWhatIsServedAtOnceAndIsAudited() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("bug"))
        let yaml = Self.config(upstream, prompts: try Self.versionedPrompts(), triage: "{ prompt: triage, prompt_version: v3, model: fast }")
        try await Harness.with(yaml) { h in
            #expect(try await Self.run(h, user: "u1", upstream: upstream).1 == "v3")
            let put = try await h.request(.PUT, "/admin/flags", body: #"{"triage.variants": {"v4": 100}, "reason": "v4 won"}"#, headers: Self.admin)
            #expect(put.status == 200, "\(put.text)")
            #expect(put.json["changed"]?.arrayValue?.first?["key"] == "triage.variants")
            #expect(put.json["effective"]?["triage"]?["variants"] == ["v4": 100.0])
            for u in 0..<10 {
                let served = try await Self.run(h, user: "u" + String(u), upstream: upstream)
                #expect(served.0 == "v4")
            }

            let model = try await h.request(.PUT, "/admin/flags", body: #"{"triage.model": "smart"}"#, headers: Self.admin)
            #expect(model.status == 200)
            #expect(try await Self.run(h, user: "u1", upstream: upstream).2 == "gpt-4o")

            let audit = try await h.request(.GET, "/admin/audit", headers: Self.admin)
            let entries = audit.json["data"]?.arrayValue ?? []
            let set = try #require(entries.first { $0["target"] == "flag:triage.variants" })
            #expect(set["action"] == "flags.set")
            #expect(set["actor"] == "alice")
            #expect(set["reason"] == "v4 won")
            #expect(set["old_value"] == .null)
            #expect(set["new_value"] == ["v4": 100.0])
            #expect(set["at"]?.stringValue != nil)

            let got = try await h.request(.GET, "/admin/flags", headers: Self.admin)
            #expect(got.json["flags"]?["triage.model"] == "smart")
            #expect(got.json["data"]?.arrayValue?.first?["actor"] == "alice")

            // Removing a flag puts the config's value back; removing it again is a 404.
            #expect(try await h.request(.DELETE, "/admin/flags/triage.variants", headers: Self.admin).status == 200)
            #expect(try await h.request(.DELETE, "/admin/flags/triage.model", headers: Self.admin).status == 200)
            let back = try await Self.run(h, user: "u1", upstream: upstream)
            #expect(back.0 == nil && back.1 == "v3" && back.2 == "gpt-4o-mini")
            #expect(try await h.request(.DELETE, "/admin/flags/triage.variants", headers: Self.admin).status == 404)
            let removal = try await h.request(.GET, "/admin/audit", headers: Self.admin).json["data"]?.arrayValue?.first
            #expect(removal?["new_value"] == .null && removal?["old_value"] == "smart")
            let anonymous = try await h.request(.PUT, "/admin/flags", body: #"{"triage.model": "smart"}"#)
            #expect([401, 403].contains(anonymous.status))
        }
    }

    @Test func badFlagsAreRefusedWithAReason() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        let yaml = Self.config(upstream, prompts: try Self.versionedPrompts(), triage: "{ prompt: triage, prompt_version: v3, model: fast }")
        try await Harness.with(yaml) { h in
            let cases: [(String, String)] = [
                (#"{"triage.colour": 1}"#, "Unknown flag"),
                (#"{"nope.variants": {"v3": 100}}"#, "not configured"),
                (#"{"triage.variants": {"v9": 100}}"#, "no version 'v9'"),
                (#"{"triage.variants": {"v3": 70, "v4": 40}}"#, "at most 100"),
                (#"{"triage.model": "huge"}"#, "configured model"),
                (#"{"triage.disabled": "yes"}"#, "true or false"),
                (#"{"triage.guard": {"max_error_rate": 0.1}}"#, "set 'triage.variants'"),
                (#"{"triage.variants": {"v4": 10}, "triage.guard": {"max_error_rate": 3}}"#, "between 0 and 1"),
                (#"{"triage.shadow": {"model": "huge", "sample": 0.5}}"#, "unknown model"),
                ("[1]", "JSON object"),
            ]
            for (body, message) in cases {
                let r = try await h.request(.PUT, "/admin/flags", body: body, headers: Self.admin)
                #expect(r.status == 400, "\(body)")
                #expect(r.json["error"]?["message"]?.stringValue?.contains(message) == true, "\(body): \(r.text)")
            }
            // Nothing was stored.
            #expect(try await h.request(.GET, "/admin/flags", headers: Self.admin).json["flags"] == [:])
        }
    }

    @Test func theDisabledFlagRefusesThePurposeUntilRemoved() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("ok"))
        let yaml = Self.config(upstream, prompts: try Self.versionedPrompts(), triage: "{ prompt: triage, prompt_version: v3, model: fast }")
        try await Harness.with(yaml) { h in
            #expect(try await h.request(.PUT, "/admin/flags", body: #"{"triage.disabled": true}"#, headers: Self.admin).status == 200)
            let refused = try await h.request(.POST, "/v1/purposes/triage/run", body: #"{"variables":{"ticket":"t"}}"#)
            #expect(refused.status == 503)
            #expect(refused.json["error"]?["code"] == "disabled")
            #expect(refused.json["error"]?["message"]?.stringValue?.contains("triage.disabled") == true)
            #expect(upstream.requestCount == 0)
            #expect(try await h.request(.PUT, "/admin/flags", body: #"{"triage.disabled": null}"#, headers: Self.admin).status == 200)
            #expect(try await h.request(.POST, "/v1/purposes/triage/run", body: #"{"variables":{"ticket":"t"}}"#).status == 200)
        }
    }

    @Test func reloadSwapsTheConfigAtomicallyAndRefusesABrokenOne() async throws {
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("ok"))
        let prompts = try Self.versionedPrompts()
        let dir = try PurposeCacheTests.promptsDir()
        let path = dir + "/sluice.yaml"
        let db = dir + "/sluice.db"
        func write(_ triage: String, extra: String = "") throws {
            try (Self.config(upstream, prompts: prompts, triage: triage) + "\nstorage: { url: \"sqlite://\(db)\" }\n" + extra)
                .write(toFile: path, atomically: true, encoding: .utf8)
        }
        try write("{ prompt: triage, prompt_version: v3, model: fast }")
        try await Harness.with(try String(contentsOfFile: path, encoding: .utf8), reloadFrom: path) { h in
            #expect(try await Self.run(h, user: "u", upstream: upstream).1 == "v3")
            try write("{ prompt: triage, prompt_version: v4, model: smart, variants: { v3: 10 } }", extra: "pricing: { gpt-4o: { input: 1, output: 1 } }")
            let ok = try await h.request(.POST, "/admin/reload", headers: Self.admin)
            #expect(ok.status == 200, "\(ok.text)")
            #expect(ok.json["restart_required"] == ["pricing"])
            let users = try await (0..<20).asyncMap { try await Self.run(h, user: "r\($0)", upstream: upstream) }
            #expect(users.contains { $0.1 == "v4" && $0.0 == "base" && $0.2 == "gpt-4o" })

            try write("{ prompt: triage, prompt_version: v9, model: fast }")
            let broken = try await h.request(.POST, "/admin/reload", headers: Self.admin)
            #expect(broken.status == 400)
            #expect(broken.json["error"]?["message"]?.stringValue?.contains("v9") == true)
            try write("{ prompt: triage, model: [not, a, model] }")
            #expect(try await h.request(.POST, "/admin/reload", headers: Self.admin).status == 400)
            // The reloaded config stays live.
            let still = try await Self.run(h, user: "r0", upstream: upstream)
            #expect(still.2 == "gpt-4o" || still.1 == "v3")
            #expect(try await (0..<20).asyncMap { try await Self.run(h, user: "r\($0)", upstream: upstream).1 }.contains("v4"))
        }
    }

    @Test func aGuardedCanaryRollsBackWhenItsErrorRateBreaches() async throws {
        let good = try await FakeUpstream.start()
        defer { Task { await good.stop() } }
        good.setDefault(.text("fine"))
        let bad = try await FakeUpstream.start()
        defer { Task { await bad.stop() } }
        bad.setDefault(.status(500))
        let extra = """
              broken: { targets: [ { provider: down, model: gpt-4o } ] }
            """
        var yaml = Self.config(good, prompts: try Self.versionedPrompts(), triage: "{ prompt: triage, prompt_version: v3, model: fast }", extraModels: extra)
        yaml = yaml.replacingOccurrences(of: "providers:\n", with: "providers:\n  down: { type: openai_compatible, base_url: \"\(bad.baseURL)\" }\n")
        try await Harness.with(yaml) { h in
            let start = try await h.request(
                .PUT, "/admin/flags",
                body: #"{"triage.variants": {"v3": 50, "v4": {"percent": 50, "prompt_version": "v4", "model": "broken"}}, "triage.guard": {"max_error_rate": 0.2, "min_calls": 5}}"#,
                headers: Self.admin)
            #expect(start.status == 200, "\(start.text)")
            #expect(start.json["effective"]?["triage"]?["guard"]?["canary"] == "v4")
            // A healthy canary is left alone.
            #expect(await h.gateway.rolloutGuard.check().isEmpty)
            var failed = 0
            for i in 0..<60 where failed < 6 {
                let r = try await h.request(.POST, "/v1/purposes/triage/run", body: #"{"variables":{"ticket":"t"},"user":"c\#(i)"}"#)
                if r.status != 200 { failed += 1 }
            }
            #expect(failed >= 5)
            await h.gateway.callLog.flush()
            // The guard service also checks every 2 s: whichever check comes first rolls back, once.
            _ = await h.gateway.rolloutGuard.check()
            // Rolled back to the config (no variants flag before), guard gone, audited once.
            let flags = try await h.request(.GET, "/admin/flags", headers: Self.admin).json["flags"]
            #expect(flags == [:])
            for i in 0..<10 { #expect(try await Self.run(h, user: "c\(i)", upstream: good).1 == "v3") }
            let audit = try await h.request(.GET, "/admin/audit", headers: Self.admin).json["data"]?.arrayValue ?? []
            let rollbacks = audit.filter { $0["action"] == "flags.rollback" }
            #expect(rollbacks.count == 2)  // the guard and the variants
            #expect(rollbacks.allSatisfy { $0["actor"] == "sluice:guard" })
            #expect(rollbacks.first?["reason"]?.stringValue?.contains("error rate") == true)
            #expect(await h.gateway.rolloutGuard.check().isEmpty)
        }
    }
}

extension Range where Bound == Int {
    func asyncMap<T>(_ f: (Int) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for i in self { out.append(try await f(i)) }
        return out
    }
}
