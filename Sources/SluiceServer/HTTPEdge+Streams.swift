import HTTPTypes
import Hummingbird
import NIOCore
import SluiceEngine

extension HTTPEdge {
    /// SSE response headers: the `X-Sluice-*` ones, `text/event-stream`, `no-cache`.
    static func sseHeaders(_ meta: ResponseMeta) -> HTTPFields {
        var headers = headers(meta)
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return headers
    }

    /// A `200` event stream writing `next()`'s frames until it returns `nil` (empty frames
    /// are skipped). A client that goes away is reported to `disconnected` before the write
    /// error ends the body; at the end, `reviewID()` (the review item queued when the stream
    /// ended) goes out as the `X-Sluice-Review-Id` trailer, as headers are gone by then.
    /// Frames `ifReady()` gives (those already received) join the same write, up to 64 KiB: the
    /// events of one upstream read leave in one write, not one syscall each.
    /// The most bytes of ready frames joined into one write.
    static let coalesceLimit = 65_536

    static func eventStream(
        _ meta: ResponseMeta, next: @escaping @Sendable () async -> [UInt8]?, ifReady: @escaping @Sendable () async -> [UInt8]?,
        disconnected: @escaping @Sendable () async -> Void, reviewID: @escaping @Sendable () -> String?
    ) -> Response {
        Response(
            status: .ok, headers: sseHeaders(meta),
            body: ResponseBody { writer in
                while var frame = await next() {
                    while frame.count < coalesceLimit, let more = await ifReady() { frame += more }
                    guard !frame.isEmpty else { continue }
                    do {
                        try await writer.write(ByteBuffer(bytes: frame))
                    } catch {
                        await disconnected()
                        throw error
                    }
                }
                try await writer.finish(reviewID().map { [HTTPEdge.reviewID: $0] })
            })
    }
}
