import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore

/// `sluice healthcheck`: asks a running gateway's `GET /readyz` and exits 0 when it answers
/// 200. The container image's `HEALTHCHECK` runs it, so the image needs no curl.
struct Healthcheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask a running gateway's GET /readyz; exit 0 when it is ready, 1 otherwise.")

    @OptionGroup var options: ConfigOption
    @Option(help: "The URL to ask (default: /readyz on server.host and server.port from the config; 0.0.0.0 and :: mean 127.0.0.1).")
    var url: String?
    @Option(help: "Seconds to wait for the answer.") var timeout: Int = 5

    func run() async throws {
        let target: String
        if let url {
            target = url
        } else {
            let config = try loadConfigOrExit(options.config)
            let configured = config.server.host
            let host = ["0.0.0.0", "::", ""].contains(configured) ? "127.0.0.1" : configured
            target = "http://\(host.contains(":") ? "[\(host)]" : host):\(config.server.port)/readyz"
        }
        do {
            let res = try await HTTPClient.shared.execute(HTTPClientRequest(url: target), timeout: .seconds(Int64(timeout)))
            let body = try await res.body.collect(upTo: 1 << 20)
            print("\(res.status.code) \(String(buffer: body))")
            if res.status.code != 200 { throw ExitCode(1) }
        } catch let e as ExitCode {
            throw e
        } catch {
            FileHandle.standardError.write(Data("sluice: healthcheck: no answer from \(target): \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
