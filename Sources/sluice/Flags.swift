import ArgumentParser
import Foundation
import SluiceCore
import SluiceEngine

struct FlagsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flags",
        abstract: "Read and change the live flags of a running gateway (every node follows within a second).",
        subcommands: [FlagsGet.self, FlagsSet.self])
}

struct FlagsGet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Print the flags (or one), and what each purpose runs now.")

    @OptionGroup var options: ConfigOption
    @OptionGroup var admin: AdminOptions
    @Argument(help: "One flag key, such as triage.variants.") var key: String?
    @Flag(help: "Print JSON instead of text.") var json = false

    func run() async throws {
        let config = try loadConfigOrExit(options.config)
        let client = AdminClient(options: admin, config: config)
        let result = try client.expectOK(await client.send(.GET, "/admin/flags"))
        if let key {
            let value = result["flags"]?[key] ?? .null
            return print(json ? value.jsonString : (value.isNull ? "\(key) is not set" : "\(key)=\(value.jsonString)"))
        }
        if json { return print(result.jsonString) }
        let rows = result["data"]?.arrayValue ?? []
        if rows.isEmpty { print("no flags set: every purpose runs its config") }
        for r in rows {
            print("\(r["key"]?.stringValue ?? "")=\(r["value"]?.jsonString ?? "")  (\(r["actor"]?.stringValue ?? ""), \(r["updated_at"]?.stringValue ?? ""))")
        }
    }
}

struct FlagsSet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Set flags; VALUE null removes one.",
        discussion: """
            Examples:
              sluice flags set triage.variants=v3:100                 # everyone on v3
              sluice flags set triage.variants=v3:95,v4:5 --guard max_error_rate=0.05,min_calls=50
              sluice flags set triage.model=smart                     # another configured model
              sluice flags set triage.shadow=prompt_version=v5,sample=0.1
              sluice flags set triage.disabled=true                   # 503 for the purpose's calls
              sluice flags set triage.variants=null                   # back to the config's
            """)

    @OptionGroup var options: ConfigOption
    @OptionGroup var admin: AdminOptions
    @Argument(help: "KEY=VALUE pairs.") var assignments: [String]
    @Option(help: "A canary guard for the purposes whose variants change: max_error_rate=R,min_schema_valid_rate=R,min_calls=N.")
    var `guard`: String?
    @Option(help: "Why, for the audit log.") var reason: String?
    @Flag(help: "Print JSON instead of text.") var json = false

    func run() async throws {
        let config = try loadConfigOrExit(options.config)
        var body = JSONObject()
        do {
            for a in assignments {
                let (key, value) = try FlagText.assignment(a)
                body[key] = value
            }
            if let g = `guard` {
                let spec = JSON.object(try FlagText.pairs(g))
                let purposes = body.members.compactMap { m in FlagKey.split(m.key).flatMap { $0.1 == .variants ? $0.0 : nil } }
                guard !purposes.isEmpty else { throw ValidationError("--guard watches a rollout: set PURPOSE.variants too") }
                for p in purposes { body["\(p).guard"] = spec }
            }
        } catch let e as VariantError {
            throw ValidationError(e.message)
        }
        if let reason { body["reason"] = .string(reason) }
        let client = AdminClient(options: admin, config: config)
        let result = try client.expectOK(await client.send(.PUT, "/admin/flags", body: .object(body)))
        if json { return print(result.jsonString) }
        let changed = result["changed"]?.arrayValue ?? []
        if changed.isEmpty { print("no change: the flags already had these values") }
        for c in changed {
            print("\(c["key"]?.stringValue ?? ""): \(c["old"]?.jsonString ?? "null") -> \(c["new"]?.jsonString ?? "null")")
        }
    }
}
