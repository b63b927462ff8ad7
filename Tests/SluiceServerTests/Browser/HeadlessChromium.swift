import Foundation
import SluiceTesting

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Loads pages in a real headless Chromium, one browser launch per page
/// (about 0.7 s on the CI box): the DOM after load (`--dump-dom`) and,
/// in the same launch, a screenshot (`--screenshot`) under `.build/screenshots/`.
///
/// ```swift
/// @Test(.enabled(if: HeadlessChromium.shouldRun, "needs chromium"))
/// func overview() async throws {
///     let page = try await HeadlessChromium.load(url: base + "/?key=admin", screenshot: "overview")
///     let dom = DOM(page.dom)
///     #expect(!dom.elements(tag: "svg").isEmpty)
/// }
/// ```
///
/// CI (`CI=true`) installs Debian's `chromium` (`.ci/run`), and there a missing
/// browser fails the tests (``shouldRun`` is true, ``load(url:screenshot:width:height:virtualTimeBudgetMs:timeout:)``
/// throws); elsewhere the tests are skipped.
enum HeadlessChromium {
    /// The browser executable, or `nil` when none is installed. `$CHROMIUM` overrides.
    /// Debian's `/usr/bin/chromium` is a shell wrapper; its real binary
    /// `/usr/lib/chromium/chromium` is used directly when present (no wrapper noise, a little faster).
    static let path: String? = {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["CHROMIUM"], !env.isEmpty {
            return fm.isExecutableFile(atPath: env) ? env : nil
        }
        if fm.isExecutableFile(atPath: "/usr/lib/chromium/chromium") { return "/usr/lib/chromium/chromium" }
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/bin"]
        for name in ["chromium", "chromium-browser"] {
            for dir in dirs where fm.isExecutableFile(atPath: dir + "/" + name) { return dir + "/" + name }
        }
        return nil
    }()

    /// Whether this run is CI, where a missing browser is a failure rather than a skip.
    static var inCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// For `.enabled(if:)`: run when a browser is installed, and always in CI (where
    /// a missing browser must fail the test, not skip it).
    static var shouldRun: Bool { path != nil || inCI }

    /// The package root, found from this file's path (not the working directory).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Browser
        .deletingLastPathComponent()  // SluiceServerTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    /// `<package root>/.build/screenshots`.
    static var screenshotDirectory: URL { packageRoot.appendingPathComponent(".build/screenshots") }

    /// The flags of every launch, besides `--user-data-dir`, `--window-size`,
    /// `--screenshot` and `--dump-dom`.
    static let flags = [
        "--headless=new",
        "--no-sandbox",  // CI runs as root, where Chromium refuses to start with its sandbox
        "--disable-gpu",
        "--disable-dev-shm-usage",  // containers often have a 64 MB /dev/shm
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--mute-audio",
        "--password-store=basic",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--run-all-compositor-stages-before-draw",
    ]

    /// One loaded page.
    struct Page: Sendable {
        /// The DOM serialized after load.
        var dom: String
        /// The screenshot's path, when one was asked for.
        var screenshot: String?
        /// The whole launch: start, load, dump, exit.
        var elapsed: Duration
    }

    /// Loads `url` in a fresh headless Chromium (a temporary profile, so no
    /// cookies carry over between calls) and returns the DOM after load; with
    /// `screenshot`, also writes `.build/screenshots/NAME.png` of the
    /// `width`×`height` viewport in the same launch.
    ///
    /// Redirects are followed and cookies they set are sent on; the HTTP status
    /// is not reported (an error page's DOM comes back like any other), but a
    /// page that fails to load at all (refused, DNS, unsafe port) throws.
    /// `virtualTimeBudgetMs` lets the page's timers run for that much virtual time
    /// before the dump (not needed for server-rendered pages).
    static func load(
        url: String, screenshot name: String? = nil, width: Int = 1280, height: Int = 1600,
        virtualTimeBudgetMs: Int? = nil, timeout: Duration = .seconds(30)
    ) async throws -> Page {
        guard let path else {
            throw ChromiumError(
                "no chromium found (looked for $CHROMIUM, /usr/lib/chromium/chromium, chromium and chromium-browser on PATH); "
                    + "install it with `apt-get install -y chromium` (.ci/run does this in CI)")
        }
        let fm = FileManager.default
        let work = fm.temporaryDirectory.appendingPathComponent("sluice-chromium-\(UUID().uuidString)")
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: work) }

        var shot: URL?
        if let name {
            let safe = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
            try fm.createDirectory(at: screenshotDirectory, withIntermediateDirectories: true)
            shot = screenshotDirectory.appendingPathComponent(safe + ".png")
            try? fm.removeItem(at: shot!)
        }

        var args = flags + ["--user-data-dir=\(work.appendingPathComponent("profile").path)", "--window-size=\(width),\(height)"]
        if let virtualTimeBudgetMs { args.append("--virtual-time-budget=\(virtualTimeBudgetMs)") }
        if let shot { args.append("--screenshot=\(shot.path)") }
        args += ["--dump-dom", url]

        // Output goes to files, not pipes: nothing can fill up and block the browser,
        // and no thread sits in a blocking read.
        let stdoutURL = work.appendingPathComponent("stdout")
        let stderrURL = work.appendingPathComponent("stderr")
        _ = fm.createFile(atPath: stdoutURL.path, contents: nil)
        _ = fm.createFile(atPath: stderrURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: stdoutURL)
        let err = try FileHandle(forWritingTo: stderrURL)

        let start = ContinuousClock.now
        let (status, timedOut) = try await run(path, args, stdout: out, stderr: err, timeout: timeout)
        let elapsed = ContinuousClock.now - start
        try? out.close()
        try? err.close()

        let dom = String(decoding: (try? Data(contentsOf: stdoutURL)) ?? Data(), as: UTF8.self)
        let log = String(decoding: (try? Data(contentsOf: stderrURL)) ?? Data(), as: UTF8.self)
        let context = "chromium \(url)\n" + relevant(log)
        if timedOut { throw ChromiumError("timed out after \(timeout) and was killed: \(context)") }
        guard status == 0 else { throw ChromiumError("exited with status \(status): \(context)") }
        guard !dom.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw ChromiumError("no DOM (the page did not load): \(context)")
        }
        if let shot { try checkPNG(shot, width: width, height: height, context: context) }
        return Page(dom: dom, screenshot: shot?.path, elapsed: elapsed)
    }

    /// The DOM of `url` after load. See ``load(url:screenshot:width:height:virtualTimeBudgetMs:timeout:)``.
    static func dom(url: String, timeout: Duration = .seconds(30)) async throws -> String {
        try await load(url: url, timeout: timeout).dom
    }

    /// Writes `.build/screenshots/NAME.png` of `url` and returns its path.
    /// See ``load(url:screenshot:width:height:virtualTimeBudgetMs:timeout:)``.
    static func screenshot(url: String, name: String, width: Int = 1280, height: Int = 1600) async throws -> String {
        try await load(url: url, screenshot: name, width: width, height: height).screenshot!
    }

    // MARK: Internals

    /// Runs the browser; kills it (TERM, then KILL) on timeout or cancellation.
    private static func run(
        _ path: String, _ args: [String], stdout: FileHandle, stderr: FileHandle, timeout: Duration
    ) async throws -> (status: Int32, timedOut: Bool) {
        let process = try ChildProcess(
            executable: path, arguments: args, environment: ProcessInfo.processInfo.environment,
            output: stdout.fileDescriptor, error: stderr.fileDescriptor)
        let timedOut = Locked(false)
        // ChildProcess signals only while the child is unreaped, so a recycled pid is never hit.
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            timedOut.withLock { $0 = true }
            process.signal(SIGTERM)
            try await Task.sleep(for: .seconds(3))
            process.signal(SIGKILL)
        }
        let status = await withTaskCancellationHandler {
            await process.waitExit()
        } onCancel: {
            process.signal(SIGKILL)
        }
        watchdog.cancel()
        return (status, timedOut.value)
    }

    /// Checks that `url` is a PNG of the given size, bigger than a trivial file.
    private static func checkPNG(_ url: URL, width: Int, height: Int, context: String) throws {
        guard let data = try? Data(contentsOf: url) else { throw ChromiumError("no screenshot at \(url.path): \(context)") }
        let bytes = [UInt8](data.prefix(24))
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard bytes.count == 24, Array(bytes[0..<8]) == signature, String(decoding: bytes[12..<16], as: UTF8.self) == "IHDR" else {
            throw ChromiumError("\(url.path) is not a PNG (\(data.count) bytes): \(context)")
        }
        let w = bytes[16..<20].reduce(0) { $0 << 8 | Int($1) }
        let h = bytes[20..<24].reduce(0) { $0 << 8 | Int($1) }
        guard w == width, h == height else { throw ChromiumError("\(url.path) is \(w)×\(h), expected \(width)×\(height)") }
        guard data.count > 1024 else { throw ChromiumError("\(url.path) is only \(data.count) bytes: \(context)") }
    }

    /// Chromium's stderr without the noise of a machine with no D-Bus, no GPU and no session.
    static func relevant(_ log: String) -> String {
        let noise = ["dbus", "D-Bus", "bytes written to file", "Fontconfig", "gpu_init", "viz_main", "sandbox_linux", "ALSA"]
        return log.split(separator: "\n").filter { line in !noise.contains { line.contains($0) } }.suffix(30).joined(separator: "\n")
    }
}

struct ChromiumError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
