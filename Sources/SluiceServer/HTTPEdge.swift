import HTTPTypes
import Logging
import Hummingbird
import NIOCore
import SluiceCore
import SluiceEngine

/// The one place where Sluice errors and metadata become HTTP.
enum HTTPEdge {
    static let jsonContentType = "application/json"
    static let callID = HTTPField.Name("X-Sluice-Call-Id")!
    static let cost = HTTPField.Name("X-Sluice-Cost-Usd")!
    static let provider = HTTPField.Name("X-Sluice-Provider")!
    static let model = HTTPField.Name("X-Sluice-Model")!
    static let attempts = HTTPField.Name("X-Sluice-Attempts")!
    static let cache = HTTPField.Name("X-Sluice-Cache")!
    static let cacheSimilarity = HTTPField.Name("X-Sluice-Cache-Similarity")!
    static let runBudget = HTTPField.Name("X-Sluice-Run-Budget-Usd")!
    static let runMaxCalls = HTTPField.Name("X-Sluice-Run-Max-Calls")!
    static let overhead = HTTPField.Name("X-Sluice-Overhead-Ms")!
    static let purpose = HTTPField.Name("X-Sluice-Purpose")!
    static let runID = HTTPField.Name("X-Sluice-Run-Id")!
    static let user = HTTPField.Name("X-Sluice-User")!
    static let apiKey = HTTPField.Name("x-api-key")!
    static let degraded = HTTPField.Name("X-Sluice-Degraded")!
    static let cascade = HTTPField.Name("X-Sluice-Cascade")!
    static let actor = HTTPField.Name("X-Sluice-Actor")!
    static let reviewID = HTTPField.Name("X-Sluice-Review-Id")!

    /// A JSON response.
    static func json(_ status: Int, _ body: [UInt8], headers: HTTPFields = [:]) -> Response {
        var h = headers
        if h.contains(.contentType) { h[.contentType] = jsonContentType } else { h.append(HTTPField(name: .contentType, value: jsonContentType)) }
        return Response(status: .init(code: status), headers: h, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func json(_ status: Int, _ value: JSON, headers: HTTPFields = [:]) -> Response {
        json(status, value.serialized(), headers: headers)
    }

    /// The OpenAI-shaped error response for `error`.
    static func error(_ error: SluiceError, headers: HTTPFields = [:]) -> Response {
        var h = headers
        if let retry = error.retryAfterSeconds { h[.retryAfter] = String(retry) }
        return json(error.code.status, error.openAIBody, headers: h)
    }

    /// The response for anything a route threw; an internal error is logged first.
    static func errorResponse(for error: any Error, logger: Logger) -> Response {
        let e = sluiceError(from: error)
        if e.code == .internalError { logger.error("unhandled error", metadata: ["error": "\(error)"]) }
        return HTTPEdge.error(e)
    }

    /// Maps any error thrown in a handler to a Sluice error.
    static func sluiceError(from error: any Error) -> SluiceError {
        if let e = error as? SluiceError { return e }
        if let e = error as? HTTPError {
            switch e.status.code {
            case 413: return SluiceError(.payloadTooLarge, "The request body is larger than server.max_body_bytes.")
            case 404: return SluiceError(.notFound, e.body ?? "No such route.")
            case 405: return SluiceError(.methodNotAllowed, e.body ?? "Method not allowed on this route.")
            case 400..<500: return SluiceError(.invalidRequest, e.body ?? "Bad request.")
            default: return SluiceError(.internalError, e.body ?? "Internal error.")
            }
        }
        return SluiceError(.internalError, "Internal error: \(error)")
    }

    /// `X-Sluice-*` response headers.
    static func headers(_ meta: ResponseMeta) -> HTTPFields {
        // Appended, not assigned: the names are distinct, so no lookups.
        var h = HTTPFields()
        h.reserveCapacity(11)
        func add(_ name: HTTPField.Name, _ value: String) { h.append(HTTPField(name: name, value: value)) }
        if let v = meta.callID { add(callID, v) }
        if let v = meta.costUSD { add(cost, formatCost(v)) }
        if let v = meta.provider { add(provider, v) }
        if let v = meta.answeredModel { add(model, v) }
        add(attempts, String(meta.attempts))
        add(cache, meta.cache)
        if let v = meta.cacheSimilarity { add(cacheSimilarity, Decimals.format(v, places: 4, trim: true)) }
        if let v = meta.overheadMs { add(overhead, format3(v)) }
        if meta.degraded { add(degraded, "true") }
        if let c = meta.cascade { add(cascade, c) }
        if let v = meta.reviewID { add(reviewID, v) }
        return h
    }

    /// USD with up to 8 decimals, trailing zeros dropped (`0.000435`, `2`).
    static func formatCost(_ v: Double) -> String { Decimals.format(v, places: 8, trim: true) }

    /// Milliseconds with 3 decimals.
    static func format3(_ v: Double) -> String { Decimals.format(v, places: 3, trim: false) }

    /// The bearer key from `Authorization: Bearer …` or `x-api-key`.
    static func presentedKey(_ headers: HTTPFields) -> String? {
        if let auth = headers[.authorization] {
            // `Bearer <key>`, the scheme in any case; a byte scan (Foundation's trimming was 2 % of a call's CPU).
            let bytes = auth.utf8
            guard bytes.count > 7, let space = bytes.firstIndex(of: 0x20),
                bytes.distance(from: bytes.startIndex, to: space) == 6,
                bytes[..<space].elementsEqual("bearer".utf8, by: { $0 | 0x20 == $1 })
            else { return nil }
            let isBlank = { (b: UInt8) in b == 0x20 || b == 0x09 }
            guard let first = bytes[space...].firstIndex(where: { !isBlank($0) }),
                let last = bytes.lastIndex(where: { !isBlank($0) })
            else { return nil }
            return String(auth[first...last])
        }
        return headers[apiKey]
    }

    /// True when `address` is on 127.0.0.0/8 or ::1.
    static func isLoopback(_ address: SocketAddress?) -> Bool {
        guard let ip = address?.ipAddress else { return false }
        return ip.hasPrefix("127.") || ip == "::1" || ip.hasPrefix("::ffff:127.")
    }

    /// Attribution from request headers.
    static func attribution(_ headers: HTTPFields) -> Attribution {
        // Most requests carry none of these: skip the lookups unless an X-Sluice- header is there.
        guard headers.contains(where: { $0.name.canonicalName.hasPrefix("x-sluice-") }) else { return Attribution() }
        var a = Attribution(purpose: headers[purpose], runID: headers[runID], user: headers[user], cacheMode: headers[cache])
        a.runBudget = headers[runBudget]
        a.runMaxCalls = headers[runMaxCalls]
        return a
    }
}

/// Turns anything a route or middleware throws into an error in the surface's shape
/// (Anthropic's on `/v1/messages`, OpenAI's elsewhere), never a bare 500.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            if request.uri.path == "/v1/messages" { return MessagesRoutes.error(HTTPEdge.sluiceError(from: error)) }
            return HTTPEdge.errorResponse(for: error, logger: context.logger)
        }
    }
}
