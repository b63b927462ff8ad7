import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SluiceCore
import SluiceEngine
import Synchronization

/// The hot routes answered straight from the connection's channel pipeline.
///
/// `POST /v1/chat/completions` and `POST /v1/messages` without an `Idempotency-Key` (and
/// with tracing off) are answered by ``FastLaneHandler`` instead of Hummingbird's router:
/// the same route code (``ChatRoutes/answerChat(headers:body:identity:start:eventLoop:)``,
/// ``MessagesRoutes/answer(headers:body:identity:start:eventLoop:)``) and the same error
/// mapping, without the per-request cost of the async channel bridging, the request
/// logger and the middleware chain. Every other request, and every request on a
/// connection where Hummingbird still owes a response, goes to the router as before.
/// `SLUICE_FAST_LANE=0` turns it off.
struct FastLane: Sendable {
    let chat: ChatRoutes
    private let messages: MessagesRoutes
    private let tracing: Bool

    static let chatPath = "/v1/chat/completions"
    static let messagesPath = "/v1/messages"

    init(chat: ChatRoutes) {
        self.chat = chat
        messages = MessagesRoutes(chat: chat)
        tracing = chat.gateway.traces != nil
    }

    /// `server.max_body_bytes`.
    var maxBodyBytes: Int { chat.gateway.config.server.maxBodyBytes }

    /// Requests the lane answered in this process (for tests).
    static let answered = Atomic<Int>(0)

    /// Whether the lane is on for this process.
    static var enabled: Bool { ProcessInfo.processInfo.environment["SLUICE_FAST_LANE"] != "0" }

    /// Whether the lane answers a request with this head.
    func accepts(_ head: HTTPRequest) -> Bool {
        head.method == .post && (head.path == Self.chatPath || head.path == Self.messagesPath) && !tracing
            && head.headerFields[IdempotentResponder.header] == nil && head.headerFields[.expect] == nil
    }

    /// The response to one request, as the router and ``ErrorMiddleware`` would give it.
    func answer(_ head: HTTPRequest, body: ByteBuffer, tooLarge: Bool, isLoopback: Bool, eventLoop: any EventLoop) async -> Response {
        let start = ContinuousClock.now
        Self.answered.add(1, ordering: .relaxed)
        let anthropic = head.path == Self.messagesPath
        do {
            let identity = try chat.authenticate(head.headerFields, fromLoopback: isLoopback)
            if tooLarge { throw ChatRoutes.bodyTooLarge(maxBodyBytes) }
            let bytes = Array(body.readableBytesView)
            if anthropic {
                return await messages.answer(headers: head.headerFields, body: bytes, identity: identity, start: start, eventLoop: eventLoop)
            }
            return await chat.answerChat(headers: head.headerFields, body: bytes, identity: identity, start: start, eventLoop: eventLoop).0
        } catch {
            if anthropic { return MessagesRoutes.error(HTTPEdge.sluiceError(from: error)) }
            return HTTPEdge.errorResponse(for: error, logger: chat.gateway.logger)
        }
    }
}

/// The `Date` response header, formatted once a second.
enum HTTPDate {
    private static let cached = Mutex<(second: Int, text: String)>((-1, ""))

    /// Now, as an IMF-fixdate (`Tue, 24 Nov 2026 06:00:00 GMT`).
    static func now() -> String {
        var tv = timespec()
        clock_gettime(CLOCK_REALTIME, &tv)
        let second = tv.tv_sec
        if let text = cached.withLock({ $0.second == second ? $0.text : nil }) { return text }
        let text = format(second)
        cached.withLock { $0 = (second, text) }
        return text
    }

    private static let days = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func format(_ epochSecond: Int) -> String {
        var t = time_t(epochSecond)
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let weekday = days[(epochSecond / 86_400 % 7 + 7) % 7]
        return "\(weekday), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
