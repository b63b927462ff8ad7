#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// A child process started with `posix_spawn`, for the tests that run `sluice`,
/// `python3` or a browser.
///
/// Not `Foundation.Process`: on Linux with Swift 6.3.1 its `run()` crashes now and
/// then (SIGSEGV in `findMaximumOpenFromProcSelfFD`, swift-corelibs-foundation PR 5472),
/// which took down a whole test run. Here the child gets `/dev/null` as standard input,
/// `output` as standard output and error, and no other descriptor of the test process.
public final class ChildProcess: Sendable {
    /// The child's process id.
    public let pid: pid_t
    private let state = Mutex<(status: Int32?, waiters: [CheckedContinuation<Int32, Never>])>((nil, []))

    /// Starts `executable` with `arguments` in `directory`; standard output goes to `output`
    /// and standard error to `error` (default: `output`), descriptors the caller keeps and
    /// closes; `nil` is `/dev/null`.
    public init(
        executable: String, arguments: [String], environment: [String: String], directory: String? = nil, output: Int32? = nil,
        error: Int32? = nil
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        for (target, fd) in [(Int32(1), output), (Int32(2), error ?? output)] {
            if let fd {
                posix_spawn_file_actions_adddup2(&actions, fd, target)
            } else {
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", O_WRONLY, 0)
            }
        }
        Self.closeFrom3(&actions)
        if let directory { try Self.changeDirectory(&actions, directory) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var child = pid_t()
        let rc = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw ChildProcessError("could not start \(executable): \(String(cString: strerror(rc)))") }
        pid = child
        let thread = Thread { [self] in reap() }
        thread.name = "reap-\(child)"
        thread.start()
    }

    /// The path of `name` on `$PATH` (or `name` itself when it has a slash).
    public static func which(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
            return "\(dir)/\(name)"
        }
        return nil
    }

    /// Whether the child has not exited yet.
    public var isRunning: Bool { state.withLock { $0.status == nil } }

    /// The exit status (the signal number when a signal ended it); `-1` while it runs.
    public var terminationStatus: Int32 { state.withLock { $0.status ?? -1 } }

    /// Sends `signal` while the child is unreaped (so a recycled pid is never hit).
    public func signal(_ signal: Int32) {
        state.withLock { s in if s.status == nil { _ = kill(pid, signal) } }
    }

    /// Blocks the calling thread until the child exits; returns ``terminationStatus``.
    public func waitUntilExit() -> Int32 {
        while isRunning { usleep(5_000) }
        return terminationStatus
    }

    /// Waits for the child to exit and returns ``terminationStatus``.
    public func waitExit() async -> Int32 {
        await withCheckedContinuation { (c: CheckedContinuation<Int32, Never>) in
            let done = state.withLock { s -> Int32? in
                if let st = s.status { return st }
                s.waiters.append(c)
                return nil
            }
            if let done { c.resume(returning: done) }
        }
    }

    private func reap() {
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0, errno == EINTR {}
        let low = raw & 0x7F
        let status = low == 0 ? (raw >> 8) & 0xFF : low
        let waiters = state.withLock { s -> [CheckedContinuation<Int32, Never>] in
            s.status = status
            defer { s.waiters.removeAll() }
            return s.waiters
        }
        for w in waiters { w.resume(returning: status) }
    }

    /// Starts the child in `directory` (glibc's `posix_spawn_file_actions_addchdir_np`, looked up
    /// at run time like ``closeFrom3(_:)``).
    private static func changeDirectory(_ actions: inout posix_spawn_file_actions_t, _ directory: String) throws {
        typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np") else {
            throw ChildProcessError("this C library cannot start a child in a directory (no posix_spawn_file_actions_addchdir_np)")
        }
        _ = directory.withCString { unsafeBitCast(symbol, to: AddChdir.self)(&actions, $0) }
    }

    /// Closes every descriptor from 3 up in the child (glibc's `posix_spawn_file_actions_addclosefrom_np`,
    /// looked up at run time because the Glibc module does not export it).
    private static func closeFrom3(_ actions: inout posix_spawn_file_actions_t) {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return }
        _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
    }
}

/// A child process could not be started.
public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
