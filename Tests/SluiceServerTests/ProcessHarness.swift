import Foundation
import SluiceTesting
import Synchronization

/// The `sluice` executable built next to the test bundle (or `$SLUICE_BIN`).
func sluiceBinary() throws -> String {
    if let env = ProcessInfo.processInfo.environment["SLUICE_BIN"] { return env }
    let candidates = [
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("sluice").path,
        FileManager.default.currentDirectoryPath + "/.build/debug/sluice",
    ]
    for c in candidates where FileManager.default.isExecutableFile(atPath: c) { return c }
    throw HarnessError("sluice binary not found in \(candidates)")
}

/// A `sluice` child process with its output captured.
final class SluiceProcess: Sendable {
    let process: ChildProcess
    /// The read end of the child's output (closed when this is released).
    private let reader: FileHandle
    private let output = Locked(Data())
    /// Set when the output pipe reached end of file (the process and its children closed it).
    private let drained = Locked(false)

    /// Starts `sluice ARGS…` in `directory`.
    init(_ args: [String], directory: String, environment: [String: String] = [:]) throws {
        let env = Self.childEnvironment(environment)
        let pipe = Pipe()
        pipe.fileHandleForReading.readabilityHandler = { [output, drained] handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                drained.withLock { $0 = true }
            } else {
                output.withLock { $0.append(data) }
            }
        }
        defer { try? pipe.fileHandleForWriting.close() }  // the child holds its own copy
        reader = pipe.fileHandleForReading
        process = try ChildProcess(
            executable: try sluiceBinary(), arguments: args, environment: env, directory: directory,
            output: pipe.fileHandleForWriting.fileDescriptor)
    }

    /// The test process's environment without real provider keys, plus `environment`.
    static func childEnvironment(_ environment: [String: String]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "OPENAI_API_KEY")
        env.removeValue(forKey: "ANTHROPIC_API_KEY")
        for (k, v) in environment { env[k] = v }
        return env
    }

    /// Everything the process printed so far.
    var text: String { output.withLock { String(decoding: $0, as: UTF8.self) } }

    /// Waits for the `sluice ready` log line and returns the port.
    func waitReady(timeout: Duration = .seconds(30)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            for line in text.split(separator: "\n") where line.contains("\"msg\":\"sluice ready\"") {
                if let r = line.range(of: "\"port\":\""), let end = line[r.upperBound...].firstIndex(of: "\"") {
                    return Int(line[r.upperBound..<end]) ?? 0
                }
            }
            if !process.isRunning { throw HarnessError("sluice exited early:\n\(text)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw HarnessError("sluice did not become ready:\n\(text)")
    }

    /// Waits for exit and returns the status.
    func waitExit(timeout: Duration = .seconds(60)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.signal(SIGTERM)
                throw HarnessError("sluice did not exit in time:\n\(text)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    func signal(_ sig: Int32) { process.signal(sig) }

    /// Waits until everything the process wrote has been read (end of file on its output), at most 5 s.
    func waitDrained() async throws {
        let deadline = ContinuousClock.now + .seconds(5)
        while !drained.withLock({ $0 }), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
    }

    /// Runs a short-lived `sluice` command to completion.
    /// Its output goes to a file, read whole after the exit: a pipe's end of file was seen late on a
    /// loaded machine, and a 70 KB answer was read in part.
    static func run(_ args: [String], directory: String, environment: [String: String] = [:]) async throws -> (Int32, String) {
        let env = childEnvironment(environment)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-run-\(UUID().uuidString).out").path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw HarnessError("cannot create \(path)") }
        defer { unlink(path) }
        let child: ChildProcess
        do {
            child = try ChildProcess(executable: try sluiceBinary(), arguments: args, environment: env, directory: directory, output: fd)
            close(fd)
        } catch {
            close(fd)
            throw error
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while child.isRunning {
            if ContinuousClock.now > deadline {
                child.signal(SIGTERM)
                throw HarnessError("sluice \(args.first ?? "") did not exit in time")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let out = FileManager.default.contents(atPath: path) ?? Data()
        return (child.terminationStatus, String(decoding: out, as: UTF8.self))
    }
}

/// A fresh temp directory.
func makeTempDir() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-proc-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}
