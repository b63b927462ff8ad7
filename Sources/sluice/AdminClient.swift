import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SluiceCore
import SluiceEngine

/// Where a CLI command finds the running gateway's admin API.
struct AdminOptions: ParsableArguments {
    @Option(help: "The gateway's URL (default: $SLUICE_URL, else server.host and server.port from the config).")
    var url: String?
    @Option(name: .customLong("admin-key"), help: "The admin key (default: $SLUICE_ADMIN_KEY, else auth.admin_key from the config).")
    var adminKey: String?
    @Option(help: "Who is acting, for the audit log (default: $USER).")
    var actor: String?
}

/// A small client for `/admin/*` on a running gateway.
struct AdminClient {
    let base: String
    let adminKey: String?
    let actor: String

    init(options: AdminOptions, config: SluiceConfig) {
        let env = ProcessInfo.processInfo.environment
        if let url = options.url ?? env["SLUICE_URL"] {
            var u = url
            while u.hasSuffix("/") { u.removeLast() }
            base = u
        } else {
            let host = ["0.0.0.0", "::", ""].contains(config.server.host) ? "127.0.0.1" : config.server.host
            base = "http://\(host.contains(":") ? "[\(host)]" : host):\(config.server.port)"
        }
        adminKey = options.adminKey ?? env["SLUICE_ADMIN_KEY"] ?? config.auth.adminKey
        actor = options.actor ?? env["USER"] ?? "cli"
    }

    /// Sends one request and returns the status and parsed body; a connection failure names the URL.
    func send(_ method: HTTPMethod, _ path: String, body: JSON? = nil) async throws -> (Int, JSON) {
        var req = HTTPClientRequest(url: base + path)
        req.method = method
        if let adminKey { req.headers.add(name: "authorization", value: "Bearer \(adminKey)") }
        req.headers.add(name: "x-sluice-actor", value: actor)
        if let body {
            req.headers.add(name: "content-type", value: "application/json")
            req.body = .bytes(ByteBuffer(bytes: body.serialized()))
        }
        do {
            let res = try await HTTPClient.shared.execute(req, timeout: .seconds(15))
            let bytes = try await res.body.collect(upTo: 16 << 20)
            return (Int(res.status.code), (try? JSON.parse(Array(bytes.readableBytesView))) ?? .null)
        } catch {
            throw CLIError("cannot reach the gateway at \(base) (\(error)); is `sluice serve` running? Pass --url or set SLUICE_URL.")
        }
    }

    /// The body on 2xx; otherwise the gateway's error message as a CLI error.
    func expectOK(_ result: (Int, JSON)) throws -> JSON {
        let (status, json) = result
        guard (200..<300).contains(status) else {
            throw CLIError("the gateway answered \(status): \(json["error"]?["message"]?.stringValue ?? json.jsonString)")
        }
        return json
    }
}

/// A CLI failure: printed as `sluice: MESSAGE`, exit 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
