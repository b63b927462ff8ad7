import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// One upstream HTTP request as the providers build it: what ``UpstreamHTTP``
/// sends through the lean client (plain `http://`, whole answers) or AsyncHTTPClient.
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

/// Where a plain-HTTP URL points: host, port and the request target (path and query).
struct PlainHTTPTarget: Sendable, Equatable {
    var host: String
    var port: Int
    var target: String

    /// The `Host` header value.
    var hostHeader: String { port == 80 ? host : "\(host):\(port)" }
    /// The pool key of the connections to this host.
    var key: String { "\(host):\(port)" }
}

extension PlainHTTPTarget {
    /// The parts of an `http://host[:port][/path][?query]` URL; `nil` for anything else
    /// (https, user info, IPv6 literals, bad ports), which AsyncHTTPClient handles.
    init?(_ url: String) {
        let bytes = url.utf8
        guard bytes.count > 7, url.hasPrefix("http://") else { return nil }
        let rest = url.dropFirst(7)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[rest.startIndex..<authorityEnd]
        guard !authority.isEmpty, !authority.contains("@"), !authority.hasPrefix("[") else { return nil }
        if let colon = authority.lastIndex(of: ":") {
            guard let p = Int(authority[authority.index(after: colon)...]), (1...65535).contains(p) else { return nil }
            host = String(authority[..<colon])
            port = p
        } else {
            host = String(authority)
            port = 80
        }
        guard !host.isEmpty else { return nil }
        var path = String(rest[authorityEnd...])
        if let hash = path.firstIndex(of: "#") { path = String(path[..<hash]) }
        if path.isEmpty || path.hasPrefix("?") { path = "/" + path }
        target = path
    }
}
