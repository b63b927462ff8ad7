import AsyncHTTPClient
import NIOCore
import SluiceCore

/// Reads an OpenAI SSE body into chunks. A stream ends cleanly on `data: [DONE]`,
/// or, for servers that omit it, when the body ends after every choice it
/// started has a `finish_reason`; any other end is an error, never a silent
/// truncation.
final class OpenAIChunkStream: ChunkStream, @unchecked Sendable {
    // One relay task owns this stream and calls `next()` serially; the iterator
    // is never touched concurrently.
    private var reader: SSEBodyReader
    private var started: Set<Int> = []
    private var finished: Set<Int> = []
    private var done = false

    init(body: HTTPClientResponse.Body) {
        reader = SSEBodyReader(body: body)
    }

    private enum Step { case chunk(StreamChunk), end }

    func hasReadyChunk() -> Bool { done || reader.ready() }

    func next() async throws(ProviderError) -> StreamChunk? {
        if done { return nil }
        while let event = try await reader.next() {
            switch try handle(event) {
            case .chunk(let c): return c
            case .end:
                done = true
                return nil
            }
        }
        done = true
        if !started.isEmpty && started.isSubset(of: finished) { return nil }
        throw ProviderError(.connection, message: "upstream stream ended before it was complete")
    }

    private func handle(_ event: SSEDecoder.Event) throws(ProviderError) -> Step {
        if event.data.elementsEqual("[DONE]".utf8) { return .end }
        guard let json = try? JSON.parse(event.data), let obj = json.objectValue else {
            throw ProviderError(.invalidResponse, message: "upstream sent a stream event that is not JSON")
        }
        if let err = obj["error"], !err.isNull {
            throw ProviderError(.http, message: err["message"]?.stringValue ?? "upstream sent an error event")
        }
        for choice in obj["choices"]?.arrayValue ?? [] {
            let index = choice["index"]?.intValue ?? 0
            started.insert(index)
            if let reason = choice["finish_reason"], !reason.isNull { finished.insert(index) }
        }
        return .chunk(StreamChunk(raw: event.data, json: obj))
    }
}
