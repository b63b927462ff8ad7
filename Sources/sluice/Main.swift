import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import SluiceCore

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
            } else if !EventLoopExecutor.install() {
                FileHandle.standardError.write(
                    Data("sluice: swift_task_enqueueGlobal_hook is already set; Swift concurrency keeps that executor\n".utf8))
            }
        }
        await SluiceCommand.main()
    }
}

struct SluiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "Sluice: a production LLM gateway.",
        version: SluiceVersion.current,
        subcommands: [Serve.self, CheckConfig.self, Migrate.self, Healthcheck.self, Calls.self, Kill.self, Unkill.self, PromptsCommand.self, Costs.self, Tasks.self, FlagsCommand.self, KeysCommand.self, DriftCommand.self, ReviewCommand.self,
            ShadowCommand.self, EvalCommand.self, DevSeed.self])
}

/// `--config` shared by every command.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The YAML config file. Without one, Sluice starts on built-in defaults.")
    var config: String?
}
