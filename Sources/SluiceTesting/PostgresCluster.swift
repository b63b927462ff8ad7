import Foundation

/// A private PostgreSQL server for a test that needs to stop or restart the
/// database (the shared test database must stay up for the other tests).
/// Built with Debian's `initdb` and `pg_ctl`, run as the `postgres` user when
/// the tests run as root.
public final class PostgresCluster: Sendable {
    /// The data directory.
    public let directory: String
    /// The loopback port.
    public let port: Int
    let binDir: String

    /// The folder holding `initdb` and `pg_ctl`: `SLUICE_TEST_PG_BINDIR`, or the newest under /usr/lib/postgresql.
    public static var binDir: String? {
        if let dir = ProcessInfo.processInfo.environment["SLUICE_TEST_PG_BINDIR"], !dir.isEmpty { return dir }
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return versions.sorted { $0.compare($1, options: .numeric) == .orderedAscending }
            .map { "\(root)/\($0)/bin" }
            .last { FileManager.default.isExecutableFile(atPath: "\($0)/initdb") }
    }

    /// The URL of its `sluice` database.
    public var url: String { "postgres://sluice:pw-\(port)@127.0.0.1:\(port)/sluice?sslmode=disable" }

    /// Creates and starts a cluster on a free port with a `sluice` database.
    /// The blocking `initdb`/`pg_ctl` work runs on its own thread, never on one
    /// of the few threads every other test's tasks share.
    public static func start() async throws -> PostgresCluster {
        try await offThread { try startBlocking() }
    }

    static func startBlocking() throws -> PostgresCluster {
        guard let bin = binDir else { throw ClusterError("no PostgreSQL server binaries (install Debian's postgresql)") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-pg-\(UUID().uuidString.prefix(8))").path
        var lastError: (any Error)?
        for _ in 0..<5 {
            let cluster = PostgresCluster(directory: dir, port: Int.random(in: 40_000..<60_000), binDir: bin)
            do {
                try cluster.create()
                return cluster
            } catch {
                lastError = error
                cluster.destroyBlocking()
            }
        }
        throw lastError ?? ClusterError("could not start PostgreSQL")
    }

    init(directory: String, port: Int, binDir: String) {
        self.directory = directory
        self.port = port
        self.binDir = binDir
    }

    private func create() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let pw = directory + ".pw"
        try "pw-\(port)\n".write(toFile: pw, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: pw) }
        if getuid() == 0 { try Self.sh("chown postgres:postgres \(directory) && chmod 644 \(pw)") }
        try asPostgres("\(binDir)/initdb -D \(directory) -U sluice --pwfile=\(pw) --auth=scram-sha-256 >/dev/null")
        try startServerBlocking()
        try Self.sh("PGPASSWORD=pw-\(port) \(binDir)/createdb -h 127.0.0.1 -p \(port) -U sluice sluice")
    }

    /// Starts the server (after ``stop()``).
    public func startServer() async throws {
        try await Self.offThread { try self.startServerBlocking() }
    }

    func startServerBlocking() throws {
        try asPostgres(
            "\(binDir)/pg_ctl -D \(directory) -l \(directory)/server.log -w -o '-p \(port) -c listen_addresses=127.0.0.1 -k \(directory)' start >/dev/null")
    }

    /// Stops the server at once, closing every client connection (`-m fast`).
    public func stop() async throws {
        try await Self.offThread { try self.asPostgres("\(self.binDir)/pg_ctl -D \(self.directory) -m fast -w stop >/dev/null") }
    }

    /// Stops and starts the server.
    public func restart() async throws {
        try await Self.offThread { try self.restartBlocking() }
    }

    func restartBlocking() throws {
        try asPostgres("\(binDir)/pg_ctl -D \(directory) -m fast -w restart -o '-p \(port) -c listen_addresses=127.0.0.1 -k \(directory)' >/dev/null")
    }

    /// Stops the server and deletes its files.
    public func destroy() async {
        await Self.offThread { self.destroyBlocking() }
    }

    func destroyBlocking() {
        try? asPostgres("\(binDir)/pg_ctl -D \(directory) -m immediate -w stop >/dev/null 2>&1")
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func asPostgres(_ command: String) throws {
        try Self.sh(getuid() == 0 ? "runuser -u postgres -- sh -c \"\(command.replacingOccurrences(of: "\"", with: "\\\""))\"" : command)
    }

    /// Runs blocking work on a thread of its own and waits for it without blocking the caller's thread.
    static func offThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { cont in
            Thread { cont.resume(with: Result { try work() }) }.start()
        }
    }

    static func offThread(_ work: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { cont in
            Thread {
                work()
                cont.resume()
            }.start()
        }
    }

    /// Runs a shell command. Its stderr goes to a file, not a pipe: a server
    /// started by the command would hold a pipe open for ever.
    static func sh(_ command: String) throws {
        let errFile = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-sh-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: errFile) }
        // posix_spawn and waitpid: Foundation's Process can miss the exit of a
        // shell whose grandchild (the server) lives on.
        let full = "(\(command)) 2>\(errFile) </dev/null >/dev/null"
        var pid: pid_t = 0
        let argv: [String] = ["/bin/sh", "-c", full]
        let args: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for a in args { free(a) } }
        let rc = posix_spawn(&pid, "/bin/sh", nil, nil, args, environ)
        guard rc == 0 else { throw ClusterError("cannot start /bin/sh: \(rc)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exitCode = (status >> 8) & 0xff
        guard status & 0x7f == 0, exitCode == 0 else {
            let text = (try? String(contentsOfFile: errFile, encoding: .utf8)) ?? ""
            throw ClusterError("`\(command)` failed (status \(status)): \(text)")
        }
    }
}

/// A cluster command failed.
public struct ClusterError: Error, CustomStringConvertible {
    /// What failed.
    public var description: String
    init(_ d: String) { description = d }
}
