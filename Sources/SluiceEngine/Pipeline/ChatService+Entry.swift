import Foundation
import NIOCore
import SluiceCore
import SluiceProviders
import Synchronization

/// What the pipeline tells other parts of the gateway once a call has its answer.
/// Held weakly: the gateway owns both sides.
final class CallHooks: Sendable {
    private struct Weak: @unchecked Sendable { weak var shadows: ShadowRunner? }
    private let box = Mutex(Weak())

    /// Starts sampled shadows of raw calls.
    var shadows: ShadowRunner? {
        get { box.withLock { $0.shadows } }
        set { box.withLock { $0.shadows = newValue } }
    }
}

extension ChatService {
    /// The data plane's entry point for a chat-shaped body from an authenticated caller,
    /// whatever surface it came from (chat completions, messages, tasks): every policy runs
    /// here, once, and a raw call (no `prompt`) whose purpose has a shadow starts it,
    /// whole or streamed (a stream's shadow starts when it ended cleanly).
    /// `start` is when the request reached Sluice, so that latency and overhead include reading the body.
    /// `native` is the client's own request when its surface speaks a provider's API
    /// (`/v1/messages`): targets of that provider get it as it was sent (ChatService+Native).
    public func handle(
        body: [UInt8], attribution: Attribution, identity: Identity,
        start: ContinuousClock.Instant = .now, eventLoop: (any EventLoop)? = nil, prompt: PromptRef? = nil,
        native: NativeRequest? = nil
    ) async -> ChatReply {
        let reply = await process(
            body: body, attribution: attribution, identity: identity, start: start, eventLoop: eventLoop, prompt: prompt,
            native: native)
        if prompt == nil, let shadows = hooks.shadows {
            shadows.afterChat(body: body, attribution: attribution, reply: reply)
        }
        return reply
    }
}
