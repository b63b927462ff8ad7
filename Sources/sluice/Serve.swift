import ArgumentParser
import Foundation
import Logging
import SluiceCore
import SluiceEngine
import SluiceServer
import SluiceStore
import UnixSignals

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway.")

    @OptionGroup var options: ConfigOption
    @Option(help: "Override server.port (0 picks a free port).") var port: Int?

    func run() async throws {
        // The request log (a line per call) on stdout, written by a thread of its own so that
        // no call waits on write(2); the background log on stderr.
        let callLines = LineWriter(fd: 1)
        LoggingSystem.bootstrap { JSONLogHandler(label: $0, sink: .standardError, callSink: .buffered(callLines)) }
        defer { callLines.flush() }
        let logger = {
            var l = Logger(label: "sluice")
            l.logLevel = ProcessInfo.processInfo.environment["SLUICE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            return l
        }()
        let config = try loadConfigOrExit(options.config)
        for w in config.warnings { logger.warning("\(w)") }
        let prompts = try loadPromptsOrExit(config)
        let store = try await openStore(config, logger: logger)
        let path = options.config
        let gateway = Gateway(
            config: config, store: store, logger: logger, prompts: prompts, configSource: { try ConfigLoader.load(path: path) })
        let hangup = reloadOnHangup(gateway, logger: logger)
        defer { hangup.cancel() }
        try await gateway.syncKeys()
        try await gateway.start()
        if gateway.keyRing.isOpen {
            logger.warning(
                "no auth.keys configured: accepting unauthenticated calls from loopback only",
                metadata: ["host": "\(config.server.host)"])
        }
        let started = ContinuousClock.now
        let app = SluiceApp.build(gateway: gateway, port: port) { channel in
            logger.info(
                "sluice ready",
                metadata: [
                    "version": "\(SluiceVersion.current)",
                    "port": "\(channel.localAddress?.port ?? -1)", "host": "\(config.server.host)",
                    "models": "\(gateway.catalog.names.joined(separator: ","))",
                    "startup_ms": "\((ContinuousClock.now - started) / .milliseconds(1))",
                ])
            // systemd's Type=notify (deploy/sluice.service): ready once the port is bound.
            SystemdNotify.send("READY=1\nSTATUS=serving on port \(channel.localAddress?.port ?? -1)")
        }
        var failure: (any Error)?
        do {
            try await app.runService()
        } catch {
            failure = error
            logger.error("server stopped with an error", metadata: ["error": "\(error)"])
        }
        SystemdNotify.send("STOPPING=1\nSTATUS=draining the call log")
        logger.info("sluice stopped", metadata: ["call_log_pending": "\(gateway.callLog.pending)"])
        try? await gateway.shutdown()
        try? await store.close()
        if let failure {
            FileHandle.standardError.write(Data("sluice: \(failure)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// Loads the config or prints the error and exits 2.
func loadConfigOrExit(_ path: String?) throws -> SluiceConfig {
    do {
        return try ConfigLoader.load(path: path)
    } catch let e as ConfigError {
        FileHandle.standardError.write(Data("sluice: config error: \(e)\n".utf8))
        throw ExitCode(2)
    }
}

/// Loads the prompt files and checks every purpose's prompt, or prints the problem and exits 2.
func loadPromptsOrExit(_ config: SluiceConfig) throws -> PromptLibrary {
    do {
        return try Gateway.loadPrompts(config)
    } catch {
        FileHandle.standardError.write(Data("sluice: prompt error: \(error)\n".utf8))
        throw ExitCode(2)
    }
}

/// `SIGHUP` reloads the config and prompt files; a broken one is logged and the old set stays live.
func reloadOnHangup(_ gateway: Gateway, logger: Logger) -> Task<Void, Never> {
    Task {
        for await _ in await UnixSignalsSequence(trapping: .sighup) {
            do {
                let report = try gateway.reload()
                if !report.restartRequired.isEmpty {
                    logger.warning(
                        "SIGHUP reload: these sections changed and need a restart",
                        metadata: ["sections": "\(report.restartRequired.joined(separator: ", "))"])
                }
                for w in report.flagWarnings { logger.warning("flag no longer applies: \(w)") }
            } catch {
                logger.error("SIGHUP reload refused; the previous config and prompts stay live", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// Opens and migrates the configured store. PostgreSQL gets a few tries, so
/// that a gateway started together with its database waits for it; a wrong
/// password, a missing database or a missing privilege fails at once.
func openStore(_ config: SluiceConfig, logger: Logger) async throws -> any SluiceStore {
    switch config.storage.url {
    case .sqlite(let path):
        let store = try SQLiteStore(path: path, cipher: config.storage.bodyCipher)
        try await store.migrate()
        return store
    case .postgres(let url):
        let store = PostgresStore(url: url, logger: logger, cipher: config.storage.bodyCipher)
        var attempt = 0
        while true {
            do {
                try await store.migrate()
                logger.info("storage ready", metadata: ["backend": "postgres", "url": "\(url.redacted)"])
                return store
            } catch {
                attempt += 1
                let permanent = (error as? PostgresStoreError)?.kind.isPermanent ?? false
                guard attempt < 10, !permanent else {
                    try? await store.close()
                    FileHandle.standardError.write(Data("sluice: cannot use \(url.redacted): \(error)\n".utf8))
                    throw ExitCode(1)
                }
                logger.warning("PostgreSQL not ready; retrying", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                try await Task.sleep(for: .seconds(2))
            }
        }
    }
}
