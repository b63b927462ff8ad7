import ArgumentParser
import Foundation
import SluiceCore
import SluiceEngine

/// `sluice keys create|list|show|revoke|rotate`: virtual keys at runtime, over the admin API.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list, show, revoke and rotate virtual keys on a running gateway (every node follows within a second).",
        discussion: """
            Examples:
              sluice keys create billing-bot --purposes triage,summarize --monthly-budget-usd 50 --rpm 60
              sluice keys list
              sluice keys rotate key_0193… --grace 60
              sluice keys revoke key_0193… --reason "laptop lost"
            """,
        subcommands: [KeysCreate.self, KeysList.self, KeysShow.self, KeysRevoke.self, KeysRotate.self])
}

struct KeysCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a key and print its secret (shown this once).")

    @OptionGroup var options: ConfigOption
    @OptionGroup var admin: AdminOptions
    @Argument(help: "The key's name, recorded on its calls.") var name: String
    @Option(help: "The team it belongs to.") var team: String?
    @Option(help: "Purposes it may use, comma-separated (default: all).") var purposes: String?
    @Option(help: "Models it may call, comma-separated (default: all).") var models: String?
    @Option(name: .customLong("expires"), help: "When it stops working: an ISO 8601 time or a duration from now (30d, 12h).")
    var expires: String?
    @Option(name: .customLong("daily-budget-usd"), help: "Spending cap per UTC day.") var dailyBudget: Double?
    @Option(name: .customLong("monthly-budget-usd"), help: "Spending cap per UTC month.") var monthlyBudget: Double?
    @Option(help: "Requests per minute.") var rpm: Int?
    @Option(help: "Tokens per minute.") var tpm: Int?
    @Option(help: "Metadata as KEY=VALUE (repeatable).") var meta: [String] = []
    @Flag(help: "Print JSON instead of text.") var json = false

    func run() async throws {
        let config = try loadConfigOrExit(options.config)
        let client = AdminClient(options: admin, config: config)
        var body: JSONObject = ["name": .string(name)]
        func list(_ s: String) -> JSON { .array(s.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) }) }
        if let team { body["team"] = .string(team) }
        if let purposes { body["purposes"] = list(purposes) }
        if let models { body["models"] = list(models) }
        if let expires { body["expires_at"] = .string(expires) }
        if let dailyBudget { body["daily_budget_usd"] = .double(dailyBudget) }
        if let monthlyBudget { body["monthly_budget_usd"] = .double(monthlyBudget) }
        if let rpm { body["rpm"] = .int(rpm) }
        if let tpm { body["tpm"] = .int(tpm) }
        if !meta.isEmpty {
            var m = JSONObject()
            for pair in meta {
                guard let eq = pair.firstIndex(of: "=") else { throw ValidationError("--meta takes KEY=VALUE; got '\(pair)'") }
                m[String(pair[..<eq])] = .string(String(pair[pair.index(after: eq)...]))
            }
            body["metadata"] = .object(m)
        }
        let key = try client.expectOK(await client.send(.POST, "/admin/keys", body: .object(body)))
        if json { return print(key.jsonString) }
        print(KeysText.line(key))
        print("secret (shown once; store it now): \(key["key"]?.stringValue ?? "")")
    }
}

struct KeysList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the keys: the config's and the runtime ones.")

    @OptionGroup var options: ConfigOption
    @OptionGroup var admin: AdminOptions
    @Flag(help: "Print JSON instead of text.") var json = false

    func run() async throws {
        let config = try loadConfigOrExit(options.config)
        let client = AdminClient(options: admin, config: config)
        let list = try client.expectOK(await client.send(.GET, "/admin/keys"))
        if json { return print(list.jsonString) }
        let rows = list["data"]?.arrayValue ?? []
        if rows.isEmpty { return print("no keys: the data plane is open to loopback callers") }
        rows.forEach { print(KeysText.line($0)) }
    }
}

struct KeysShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one runtime key (never its secret).")

    @OptionGroup var options: ConfigOption
    @OptionGroup var admin: AdminOptions
    @Argument(help: "The key's id (key_…).") var id: String

    func run() async throws {
        let config = try loadConfigOrExit(options.config)
        let client = AdminClient(options: admin, config: config)
        print(try client.expectOK(await client.send(.GET, "/admin/keys/\(KeysText.escaped(id))")).jsonString)
    }
}

struct KeysRevoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Revoke a runtime key: its calls get 401 on every node within a second.")

    @OptionGroup var options: ConfigOption
    @OptionGroup var admin: AdminOptions
    @Argument(help: "The key's id (key_…).") var id: String
    @Option(help: "Why, for the audit log.") var reason: String?
    @Flag(help: "Print JSON instead of text.") var json = false

    func run() async throws {
        let config = try loadConfigOrExit(options.config)
        let client = AdminClient(options: admin, config: config)
        var path = "/admin/keys/\(KeysText.escaped(id))"
        if let reason { path += "?reason=\(KeysText.escaped(reason))" }
        let key = try client.expectOK(await client.send(.DELETE, path))
        if json { return print(key.jsonString) }
        print("revoked: " + KeysText.line(key))
    }
}

struct KeysRotate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate", abstract: "Give a runtime key a new secret; the old one keeps working for --grace seconds.")

    @OptionGroup var options: ConfigOption
    @OptionGroup var admin: AdminOptions
    @Argument(help: "The key's id (key_…).") var id: String
    @Option(help: "Seconds the old secret keeps working (default 0).") var grace = 0
    @Flag(help: "Print JSON instead of text.") var json = false

    func run() async throws {
        let config = try loadConfigOrExit(options.config)
        let client = AdminClient(options: admin, config: config)
        let key = try client.expectOK(
            await client.send(.POST, "/admin/keys/\(KeysText.escaped(id))/rotate", body: ["grace_s": .int(grace)]))
        if json { return print(key.jsonString) }
        print("rotated: " + KeysText.line(key))
        print("new secret (shown once; store it now): \(key["key"]?.stringValue ?? "")")
    }
}

enum KeysText {
    static func line(_ k: JSON) -> String {
        let s = { (key: String) in k[key]?.stringValue }
        let purposes = k["purposes"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ",") ?? "*"
        var out = "\(s("id") ?? "-") \(s("name") ?? "") [\(s("source") ?? "runtime"), \(s("status") ?? "active")] purposes=\(purposes)"
        if let p = s("prefix") { out += " prefix=\(p)" }
        if let e = s("expires_at") { out += " expires=\(e)" }
        return out
    }

    static func escaped(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "/?&=+"))) ?? s
    }
}
