import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// One upstream HTTP request as the providers build it, sent by ``UpstreamHTTP`` through AsyncHTTPClient.
struct UpstreamCall: Sendable {
    /// The absolute URL.
    var url: String
    var method: HTTPMethod = .POST
    var headers = HTTPHeaders()
    var body: ByteBuffer?

    init(url: String) { self.url = url }

    /// The same request for AsyncHTTPClient.
    var clientRequest: HTTPClientRequest {
        var req = HTTPClientRequest(url: url)
        req.method = method
        req.headers = headers
        if let body { req.body = .bytes(body) }
        return req
    }
}
