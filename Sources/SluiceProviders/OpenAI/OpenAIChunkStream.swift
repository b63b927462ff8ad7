import AsyncHTTPClient
import NIOCore
import SluiceCore

/// Reads an OpenAI SSE body into chunks. A stream ends cleanly on `data: [DONE]`,
/// or, for servers that omit it, when the body ends after a chunk with a
/// `finish_reason`; any other end is an error, never a silent truncation.
final class OpenAIChunkStream: ChunkStream, @unchecked Sendable {
    // One relay task owns this stream and calls `next()` serially; the iterator
    // is never touched concurrently.
    private var iterator: HTTPClientResponse.Body.AsyncIterator
    private var decoder = SSEDecoder()
    private var sawFinish = false
    private var done = false

    init(body: HTTPClientResponse.Body) {
        self.iterator = body.makeAsyncIterator()
    }

    func next() async throws(ProviderError) -> StreamChunk? {
        if done { return nil }
        while true {
            if let event = decoder.next() {
                if event.data.elementsEqual("[DONE]".utf8) {
                    done = true
                    return nil
                }
                guard let json = try? JSON.parse(event.data), let obj = json.objectValue else {
                    throw ProviderError(.invalidResponse, message: "upstream sent a stream event that is not JSON")
                }
                if let err = obj["error"] {
                    throw ProviderError(.http, message: err["message"]?.stringValue ?? "upstream sent an error event")
                }
                if let choices = obj["choices"]?.arrayValue,
                    choices.contains(where: { !($0["finish_reason"]?.isNull ?? true) })
                {
                    sawFinish = true
                }
                return StreamChunk(raw: event.data, json: obj)
            }
            let buffer: ByteBuffer?
            do {
                buffer = try await iterator.next()
            } catch {
                throw OpenAIProvider.mapTransportError(error)
            }
            guard let buffer else {
                done = true
                if sawFinish && !decoder.hasPartialEvent { return nil }
                throw ProviderError(.connection, message: "upstream stream ended before it was complete")
            }
            decoder.feed(buffer.readableBytesView)
        }
    }
}
