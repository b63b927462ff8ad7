import AsyncHTTPClient
import NIOCore

/// Reads server-sent events from an upstream response body, one at a time.
struct SSEBodyReader {
    private var iterator: HTTPClientResponse.Body.AsyncIterator
    private var decoder = SSEDecoder()
    private var ended = false
    /// An event decoded by ``ready()`` and not yet returned.
    private var pending: SSEDecoder.Event?

    init(body: HTTPClientResponse.Body) {
        iterator = body.makeAsyncIterator()
    }

    /// The next event, or `nil` once the body has ended and every event was read.
    mutating func next() async throws(ProviderError) -> SSEDecoder.Event? {
        if let event = pending {
            pending = nil
            return event
        }
        while true {
            if let event = ended ? decoder.finish() : decoder.next() { return event }
            if ended { return nil }
            let buffer: ByteBuffer?
            do {
                buffer = try await iterator.next()
            } catch {
                throw OpenAIProvider.mapTransportError(error)
            }
            if let buffer { decoder.feed(buffer.readableBytesView) } else { ended = true }
        }
    }

    /// True when ``next()`` answers without reading the body: an event is already decoded from
    /// the bytes received, or the body has ended.
    mutating func ready() -> Bool {
        if pending != nil || ended { return true }
        pending = decoder.next()
        return pending != nil
    }
}
