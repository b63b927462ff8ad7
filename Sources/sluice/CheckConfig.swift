import ArgumentParser
import Foundation
import SluiceEngine

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate the config without starting.")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let config = try loadConfigOrExit(options.config)
        let prompts = try loadPromptsOrExit(config)
        for w in config.warnings { print("warning: \(w)") }
        let providers = config.providers.map { "\($0.name) (\($0.type.rawValue))" }.joined(separator: ", ")
        print("config OK: \(config.providers.count) providers [\(providers)], \(config.models.count) models [\(config.models.map(\.name).joined(separator: ", "))], \(config.auth.keys.count) keys, \(prompts.all.count) prompt versions, \(config.purposes.count) purposes")
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run pending store migrations.")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let config = try loadConfigOrExit(options.config)
        let store = try await openStore(config, logger: .init(label: "sluice"))
        try await store.close()
        print("migrations applied")
    }
}
