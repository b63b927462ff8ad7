import SluiceCore

extension StreamRelay {
    /// `data: [DONE]`, the chat surface's clean end.
    static let done = Array("data: [DONE]\n\n".utf8)

    /// The chat-completions encoding of the next event: a `data:` frame per chunk, an error
    /// object as the last `data:` frame of a failed stream, and at a clean end an SSE comment
    /// `: x-sluice-review-id …` (ignored by SSE clients; the trailer where headers are gone)
    /// when the answer was queued for review, then `data: [DONE]`. `nil` when the stream is over.
    public func nextFrame() async -> [UInt8]? {
        guard let event = await nextEvent() else { return nil }
        return Self.chatFrame(event)
    }

    /// The next frame if it is already received (see ``nextEventIfReady()``).
    public func nextFrameIfReady() async -> [UInt8]? {
        await nextEventIfReady().map(Self.chatFrame)
    }

    /// The chat-completions SSE bytes of `event`.
    public static func chatFrame(_ event: RelayEvent) -> [UInt8] {
        switch event {
        case .chunk(let chunk):
            var frame = Array("data: ".utf8)
            frame.reserveCapacity(chunk.raw.count + 8)
            frame.append(contentsOf: chunk.raw)
            frame.append(contentsOf: [0x0A, 0x0A])
            return frame
        case .failure(let error):
            var frame = Array("data: ".utf8)
            error.openAIBody.write(to: &frame)
            frame.append(contentsOf: [0x0A, 0x0A])
            return frame
        case .end(let reviewID):
            guard let reviewID else { return done }
            return Array(": x-sluice-review-id \(reviewID)\n\n".utf8) + done
        }
    }
}
