import ArgumentParser
import Foundation
import SluiceCore
import SluiceEngine

/// `--purpose | --model | --provider`: what a kill switch names.
struct KillTarget: ParsableArguments {
    @Option(help: "A purpose to switch off (503 disabled for its calls).") var purpose: String?
    @Option(help: "A model name, or an upstream model id, to switch off.") var model: String?
    @Option(help: "A provider to switch off (its targets are skipped; calls fall back to the others).") var provider: String?

    /// The request body: the one scope named, and the reason when given.
    func body(reason: String?) throws -> JSON {
        let named = [("purpose", purpose), ("model", model), ("provider", provider)].compactMap { k, v in v.map { (k, $0) } }
        guard named.count == 1 else { throw ValidationError("name exactly one of --purpose, --model or --provider") }
        var body = JSONObject()
        for (k, v) in named { body[k] = .string(v) }
        if let reason { body["reason"] = .string(reason) }
        return .object(body)
    }
}

struct Kill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Switch off a purpose, model or provider on every node of a running gateway (without a target: list what is off).",
        discussion: """
            Examples:
              sluice kill --purpose triage --reason "prompt v4 returns garbage"
              sluice kill --provider openai --reason "OpenAI incident 2026-11-23"
              sluice kill            # list the kill switches that are on
            """)

    @OptionGroup var options: ConfigOption
    @OptionGroup var admin: AdminOptions
    @OptionGroup var target: KillTarget
    @Option(help: "Why: shown to every refused caller and kept in the audit log.") var reason: String?
    @Flag(help: "Print JSON instead of text.") var json = false

    func run() async throws {
        let config = try loadConfigOrExit(options.config)
        let client = AdminClient(options: admin, config: config)
        if target.purpose == nil, target.model == nil, target.provider == nil {
            let list = try client.expectOK(await client.send(.GET, "/admin/kill"))
            if json { return print(list.jsonString) }
            let rows = list["data"]?.arrayValue ?? []
            if rows.isEmpty { return print("no kill switch is on") }
            return rows.forEach { print(KillText.line($0)) }
        }
        guard let reason, !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ValidationError("--reason is required: it is shown to refused callers and kept in the audit log")
        }
        let result = try client.expectOK(await client.send(.POST, "/admin/kill", body: try target.body(reason: reason)))
        if json { return print(result.jsonString) }
        print("switched off: " + KillText.line(result["kill"] ?? .null))
    }
}

struct Unkill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Switch a purpose, model or provider back on, on every node of a running gateway.")

    @OptionGroup var options: ConfigOption
    @OptionGroup var admin: AdminOptions
    @OptionGroup var target: KillTarget
    @Option(help: "Why, for the audit log (optional).") var reason: String?
    @Flag(help: "Print JSON instead of text.") var json = false

    func run() async throws {
        let config = try loadConfigOrExit(options.config)
        let client = AdminClient(options: admin, config: config)
        let result = try client.expectOK(await client.send(.DELETE, "/admin/kill", body: try target.body(reason: reason)))
        if json { return print(result.jsonString) }
        print("switched back on: " + KillText.line(result["kill"] ?? .null))
    }
}

enum KillText {
    static func line(_ k: JSON) -> String {
        let s = { (key: String) in k[key]?.stringValue ?? "" }
        return "\(s("scope")) \(s("name")): \(s("reason")) (by \(s("actor")) at \(s("created_at")))"
    }
}
