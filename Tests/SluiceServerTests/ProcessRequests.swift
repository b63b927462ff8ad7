import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import SluiceCore

/// One JSON request to a `sluice serve` process on loopback with a bearer `key`; the answer's body as JSON.
func sendJSON(
    _ client: HTTPClient, port: Int, _ method: HTTPMethod, _ path: String, key: String, body: String? = nil
) async throws -> JSON {
    var req = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
    req.method = method
    req.headers.add(name: "authorization", value: "Bearer \(key)")
    if let body {
        req.headers.add(name: "content-type", value: "application/json")
        req.body = .bytes(ByteBuffer(string: body))
    }
    let res = try await client.execute(req, timeout: .seconds(10))
    return try JSON.parse(Array(try await res.body.collect(upTo: 8 << 20).readableBytesView))
}
