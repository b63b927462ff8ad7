import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import SluiceTesting
import Testing

/// The headless-Chromium harness against a tiny local server: the DOM after
/// load, a screenshot, and the dashboard's login path (`?key=` → 303 + cookie → page).
@Suite(.serialized) struct ChromiumSmokeTests {
    @Test func ciHasChromium() {
        if HeadlessChromium.inCI {
            #expect(HeadlessChromium.path != nil, "CI must install Debian's chromium (.ci/run) for the dashboard browser tests")
        }
    }

    @Test(.enabled(if: HeadlessChromium.shouldRun, "needs chromium (apt-get install chromium)"))
    func loadsAnSVGPageAndTakesAScreenshot() async throws {
        let server = try await PageServer.start()
        defer { Task { await server.stop() } }
        let page = try await exclusively { try await HeadlessChromium.load(url: server.base + "/chart", screenshot: "chromium-smoke") }

        let dom = DOM(page.dom)
        #expect(dom.element(tag: "title")?.text == "Smoke & mirrors")
        let svg = try #require(dom.element(id: "spend"))
        #expect(svg.tag == "svg")
        #expect(svg["viewBox"] == "0 0 300 120")
        let bars = svg.elements(tag: "rect", withAttribute: "data-value")
        #expect(bars.map { $0["data-value"] } == ["12.5", "30", "7.25"])
        #expect(bars.map { $0["data-series"] } == ["search", "chat", "o'neil"])
        #expect(bars.compactMap { Double($0["height"] ?? "") } == [50, 120, 29])
        let rows = try #require(dom.element(id: "totals")).elements(tag: "tr").dropFirst()
        #expect(rows.map { $0.elements(tag: "td").map(\.text) } == [["search & ads", "$12.50"], ["chat", "$30.00"], ["o'neil", "$7.25"]])
        // The DOM is the one after the page's scripts ran.
        #expect(dom.element(id: "script-ran")?.text == "3 bars")

        let shot = try #require(page.screenshot)
        #expect(shot == HeadlessChromium.packageRoot.appendingPathComponent(".build/screenshots/chromium-smoke.png").path)
        let size = try FileManager.default.attributesOfItem(atPath: shot)[.size] as? Int ?? 0
        #expect(size > 5_000)
        #expect(page.elapsed < .seconds(30))
    }

    /// The dashboard's `/?key=ADMIN` path: a 303 that sets a cookie, then a page
    /// that needs the cookie. Chromium follows it in `--dump-dom` mode.
    @Test(.enabled(if: HeadlessChromium.shouldRun, "needs chromium (apt-get install chromium)"))
    func followsARedirectThatSetsACookie() async throws {
        let server = try await PageServer.start()
        defer { Task { await server.stop() } }

        let dom = DOM(try await exclusively { try await HeadlessChromium.dom(url: server.base + "/login?key=letmein") })
        #expect(dom.element(id: "whoami")?.text == "admin")
        let seen = server.requests.value.filter { !$0.hasPrefix("/favicon") }
        #expect(seen == ["/login?key=letmein cookie=-", "/ cookie=session=s3cret"])

        // Each launch has a fresh profile: no cookie, so the login form (a 401 still yields its DOM).
        let shot = try await exclusively { try await HeadlessChromium.screenshot(url: server.base + "/", name: "chromium-smoke-login", width: 800, height: 600) }
        #expect(FileManager.default.fileExists(atPath: shot))
        let anonymous = DOM(try await exclusively { try await HeadlessChromium.dom(url: server.base + "/") })
        #expect(anonymous.element(id: "whoami") == nil)
        #expect(anonymous.elements(tag: "form").first?["action"] == "/login")
    }

    @Test(.enabled(if: HeadlessChromium.shouldRun, "needs chromium (apt-get install chromium)"))
    func aPageThatDoesNotLoadThrows() async throws {
        let server = try await PageServer.start()
        await server.stop()
        await #expect(throws: ChromiumError.self) {
            _ = try await exclusively { try await HeadlessChromium.dom(url: server.base + "/chart") }
        }
    }
}

/// A few fixed pages on 127.0.0.1:0, recording each request's path and cookie.
final class PageServer: Sendable {
    let port: Int
    /// `PATH?QUERY cookie=COOKIE` per request (`-` when no cookie was sent).
    let requests: Locked<[String]>
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    var base: String { "http://127.0.0.1:\(port)" }

    private init(port: Int, requests: Locked<[String]>, group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.requests = requests
        self.group = group
        self.task = task
    }

    static func start() async throws -> PageServer {
        let requests = Locked<[String]>([])
        let router = Router()
        router.middlewares.add(RequestLogger(requests: requests))
        router.get("/chart") { _, _ in html(chartPage) }
        router.get("/login") { request, _ -> Response in
            guard request.uri.queryParameters.get("key") == "letmein" else { return html(loginPage, status: .unauthorized) }
            return Response(
                status: .seeOther,
                headers: [.location: "/", .setCookie: "session=s3cret; Path=/; HttpOnly; SameSite=Strict"])
        }
        router.get("/") { request, _ -> Response in
            let cookies = request.headers[.cookie] ?? ""
            guard cookies.split(separator: ";").contains(where: { $0.trimmingCharacters(in: .whitespaces) == "session=s3cret" }) else {
                return html(loginPage, status: .unauthorized)
            }
            return html(#"<!doctype html><html><body><h1>Dashboard</h1><p>Signed in as <b id="whoami">admin</b></p></body></html>"#)
        }
        var logger = Logger(label: "page-server")
        logger.logLevel = .error
        let (ports, cont) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                cont.yield(channel.localAddress?.port ?? 0)
                cont.finish()
            },
            logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let task = Task { try await group.run() }
        var port = 0
        for await p in ports { port = p }
        return PageServer(port: port, requests: requests, group: group, task: task)
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    static func html(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    struct RequestLogger: RouterMiddleware {
        let requests: Locked<[String]>
        func handle(
            _ request: Request, context: BasicRequestContext, next: (Request, BasicRequestContext) async throws -> Response
        ) async throws -> Response {
            let line = "\(request.uri.path)\(request.uri.query.map { "?\($0)" } ?? "") cookie=\(request.headers[.cookie] ?? "-")"
            requests.withLock { $0.append(line) }
            return try await next(request, context)
        }
    }

    static let loginPage = """
        <!doctype html><html><head><title>Sign in</title></head><body>
        <form method="get" action="/login"><input name="key" type="password"><button>Sign in</button></form>
        </body></html>
        """

    static let chartPage = """
        <!doctype html>
        <html><head><meta charset="utf-8"><title>Smoke &amp; mirrors</title>
        <style>body { font-family: sans-serif; margin: 24px } td, th { padding: 4px 12px; text-align: left }</style></head>
        <body>
        <h1>Spend today</h1>
        <svg id="spend" width="300" height="120" viewBox="0 0 300 120" role="img">
          <rect x="10" y="70" width="80" height="50" fill="#4e79a7" data-series="search" data-value="12.5"/>
          <rect x="110" y="0" width="80" height="120" fill="#f28e2b" data-series="chat" data-value="30"/>
          <rect x="210" y="91" width="80" height="29" fill="#59a14f" data-series='o&#39;neil' data-value="7.25"/>
        </svg>
        <table id="totals">
          <tr><th>Purpose</th><th>Spend</th></tr>
          <tr><td>search &amp; ads</td><td>$12.50</td></tr>
          <tr><td>chat</td><td>$30.00</td></tr>
          <tr><td>o'neil</td><td>$7.25</td></tr>
        </table>
        <p id="script-ran"></p>
        <script>document.getElementById('script-ran').textContent = document.querySelectorAll('rect[data-value]').length + ' bars'</script>
        </body></html>
        """
}
