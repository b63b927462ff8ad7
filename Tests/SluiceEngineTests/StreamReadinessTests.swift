import AsyncHTTPClient
import NIOCore
import SluiceCore
import Testing

@testable import SluiceProviders

/// A stream says which chunks are already received, so a surface writes the chunks of one
/// upstream read in one write, and never waits on the upstream to say so.
@Suite struct StreamReadinessTests {
    static func event(_ text: String, finish: Bool = false) -> String {
        let reason = finish ? #""stop""# : "null"
        return #"data: {"choices":[{"index":0,"delta":{"content":"\#(text)"},"finish_reason":\#(reason)}]}"# + "\n\n"
    }

    @Test func chunksOfOneReadAreReadyAndTheNextReadIsNot() async throws {
        let (bytes, feed) = AsyncStream<ByteBuffer>.makeStream()
        let stream = OpenAIChunkStream(body: .stream(bytes))
        #expect(!stream.hasReadyChunk())  // nothing received yet
        feed.yield(ByteBuffer(string: Self.event("a") + Self.event("b") + Self.event("c")))
        #expect(try await Self.text(stream.next()) == "a")
        #expect(stream.hasReadyChunk())
        #expect(try await Self.text(stream.next()) == "b")
        #expect(stream.hasReadyChunk())
        #expect(try await Self.text(stream.next()) == "c")
        // The next event is not here yet: not ready, so a surface writes what it has.
        #expect(!stream.hasReadyChunk())
        feed.yield(ByteBuffer(string: Self.event("d", finish: true) + "data: [DONE]\n\n"))
        feed.finish()
        #expect(try await Self.text(stream.next()) == "d")
        #expect(stream.hasReadyChunk())  // the end is received too
        #expect(try await stream.next() == nil)
    }

    static func text(_ chunk: StreamChunk?) -> String? {
        chunk.flatMap { ChatText.chunkDelta($0.json) }
    }
}
