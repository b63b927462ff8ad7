import Foundation
import Testing

/// Whether `python3` can import the official SDKs. CI installs them (`.ci/run`);
/// on a machine without them the compatibility suite cannot run, and CI fails instead.
let pythonHasOpenAI: Bool = {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", "import openai, pytest"]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
}()

let runningInCI = ProcessInfo.processInfo.environment["CI"] != nil

@Suite struct CompatTests {
    @Test func ciHasThePythonSDKs() {
        if runningInCI { #expect(pythonHasOpenAI, "CI must install openai and pytest (pip) for the compatibility suite") }
    }

    /// Runs `compat/` (pytest + the official openai SDK) against a real Sluice on loopback.
    @Test(.enabled(if: pythonHasOpenAI, "needs python3 with openai and pytest"))
    func openAIPythonSDKSuite() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        try await exclusively { try await runSuite(root: root) }
    }

    func runSuite(root: URL) async throws {
        try await Harness.with { h in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider", root.appendingPathComponent("compat").path]
            var env = ProcessInfo.processInfo.environment
            env["SLUICE_BASE_URL"] = h.base
            p.environment = env
            let out = Pipe()
            p.standardOutput = out
            p.standardError = out
            try p.run()
            let data = try await Task.detached { try out.fileHandleForReading.readToEnd() ?? Data() }.value
            p.waitUntilExit()
            let text = String(decoding: data, as: UTF8.self)
            print(text)
            #expect(p.terminationStatus == 0, "pytest failed:\n\(text)")
            #expect(text.contains("passed"))
        }
    }
}
