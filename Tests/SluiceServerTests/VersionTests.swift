#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SluiceCore
import Testing

/// One version everywhere: `sluice --version`, `GET /healthz`, `sluice_build_info` and the
/// `sluice ready` log line all say `SluiceVersion.current`.
@Suite struct VersionTests {
    @Test func healthzAndBuildInfoSayTheVersion() async throws {
        try await Harness.with { h in
            let health = try await h.request(.GET, "/healthz")
            #expect(health.status == 200)
            #expect(health.json["status"]?.stringValue == "ok")
            #expect(health.json["version"]?.stringValue == SluiceVersion.current)
            let metrics = try await h.request(.GET, "/metrics").text
            #expect(metrics.contains("# TYPE sluice_build_info gauge"), "\(metrics)")
            #expect(metrics.contains(#"sluice_build_info{version="\#(SluiceVersion.current)"} 1"#), "\(metrics)")
        }
    }

    @Test func theVersionIsSemantic() {
        let parts = SluiceVersion.current.split(separator: ".", omittingEmptySubsequences: false)
        #expect(parts.count == 3 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }, "\(SluiceVersion.current)")
    }

    /// The executable: `--version`, the ready line, and `sluice healthcheck` (the image's
    /// HEALTHCHECK) against the running server and against a port nobody listens on.
    @Test func theBinarySaysTheVersionAndChecksItsOwnHealth() async throws {
        try await exclusively {
            let dir = try makeTempDir()
            let (status, out) = try await SluiceProcess.run(["--version"], directory: dir)
            #expect(status == 0)
            #expect(out.trimmingCharacters(in: .whitespacesAndNewlines) == SluiceVersion.current)

            let yaml = "server: { host: 127.0.0.1, port: 0 }\nstorage: { url: \"sqlite://\(dir)/sluice.db\" }\n"
            try yaml.write(toFile: dir + "/sluice.yaml", atomically: true, encoding: .utf8)
            let notify = try NotifySocket(path: dir + "/notify.sock")
            let server = try SluiceProcess(
                ["serve", "--config", dir + "/sluice.yaml"], directory: dir, environment: ["NOTIFY_SOCKET": notify.path])
            let port = try await server.waitReady()
            // systemd's Type=notify: READY=1 once the port is bound, STOPPING=1 at SIGTERM.
            let readyMessage = await notify.receive()
            #expect(readyMessage?.hasPrefix("READY=1\n") == true, "\(readyMessage ?? "nothing")")
            let ready = server.text.split(separator: "\n").first { $0.contains("\"msg\":\"sluice ready\"") } ?? ""
            #expect(ready.contains("\"version\":\"\(SluiceVersion.current)\""), "\(ready)")

            let (ok, okOut) = try await SluiceProcess.run(
                ["healthcheck", "--url", "http://127.0.0.1:\(port)/readyz"], directory: dir)
            #expect(ok == 0, "\(okOut)")
            #expect(okOut.contains("200 ") && okOut.contains("\"ready\""), "\(okOut)")

            server.signal(SIGTERM)
            #expect(try await server.waitExit() == 0, "\(server.text)")
            let stopping = await notify.receive()
            #expect(stopping?.hasPrefix("STOPPING=1") == true, "\(stopping ?? "nothing")")
            let (down, downOut) = try await SluiceProcess.run(
                ["healthcheck", "--url", "http://127.0.0.1:\(port)/readyz", "--timeout", "2"], directory: dir)
            #expect(down == 1, "\(downOut)")
            #expect(downOut.contains("no answer from"), "\(downOut)")
        }
    }
}

/// A datagram socket standing in for systemd's `NOTIFY_SOCKET`.
final class NotifySocket {
    let path: String
    let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard fd >= 0, bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw HarnessError("cannot make \(path)") }
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: bytes) }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { throw HarnessError("cannot bind \(path): errno \(errno)") }
    }

    deinit { close(fd) }

    /// The next message, or nil after `timeout`.
    func receive(timeout: Duration = .seconds(5)) async -> String? {
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now < deadline {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 { return String(decoding: buffer[..<n], as: UTF8.self) }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }
}
