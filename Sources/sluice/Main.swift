import ArgumentParser
import NIOCore
import NIOPosix

/// Entry point. `serve` first makes NIO's event loops Swift concurrency's
/// executor (fewer thread hops per request; see ``EventLoopExecutor``), which must
/// happen on the main thread before any task runs. `SLUICE_NIO_TAKEOVER=1` installs
/// NIO's own takeover instead (for comparison).
@main
enum Main {
    static func main() async {
        if CommandLine.arguments.dropFirst().first == "serve" {
            if getenv("SLUICE_NIO_TAKEOVER").map({ String(cString: $0) }) == "1" {
                NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
            } else {
                EventLoopExecutor.install()
            }
        }
        await SluiceCommand.main()
    }
}

struct SluiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "Sluice: a production LLM gateway.",
        subcommands: [Serve.self, CheckConfig.self, Migrate.self, Calls.self, Kill.self, Unkill.self, PromptsCommand.self, Costs.self, Tasks.self, FlagsCommand.self, DriftCommand.self,
            ShadowCommand.self, EvalCommand.self, DevSeed.self])
}

/// `--config` shared by every command.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The YAML config file. Without one, Sluice starts on built-in defaults.")
    var config: String?
}
