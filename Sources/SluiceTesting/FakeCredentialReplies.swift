import Synchronization

/// Replies of a ``FakeUpstream`` chosen by the credential a request carries (`Authorization:
/// Bearer K`, `api-key`, `x-api-key` or `x-goog-api-key`), for key-pool tests: a queue per
/// credential first, then a default per credential; a request whose credential has neither
/// gets the upstream's ordinary script and default.
public final class FakeCredentialReplies: Sendable {
    private struct State {
        var script: [String: [FakeUpstream.Reply]] = [:]
        var defaults: [String: FakeUpstream.Reply] = [:]
    }

    private let state = Mutex(State())

    init() {}

    /// Queues replies for the next requests carrying `credential`, in order.
    public func enqueue(_ credential: String, _ replies: FakeUpstream.Reply...) {
        state.withLock { $0.script[credential, default: []].append(contentsOf: replies) }
    }

    /// The reply for requests carrying `credential` once its queue is empty.
    public func setDefault(_ credential: String, _ reply: FakeUpstream.Reply) {
        state.withLock { $0.defaults[credential] = reply }
    }

    /// The credential a request carries, from its lowercase-named `headers` (for a SigV4-signed
    /// request, the access key id of its `Credential=`).
    public static func credential(in headers: [String: String]) -> String? {
        if let auth = headers["authorization"], auth.hasPrefix("Bearer ") { return String(auth.dropFirst(7)) }
        if let auth = headers["authorization"], auth.hasPrefix("AWS4-HMAC-SHA256"),
            let range = auth.range(of: "Credential=")
        {
            return String(auth[range.upperBound...].prefix { $0 != "/" })
        }
        return headers["api-key"] ?? headers["x-api-key"] ?? headers["x-goog-api-key"]
    }

    /// The reply scripted for the request's credential, if any (a queued one is taken off its queue).
    func next(for headers: [String: String]) -> FakeUpstream.Reply? {
        guard let credential = Self.credential(in: headers) else { return nil }
        return state.withLock { s -> FakeUpstream.Reply? in
            if var queue = s.script[credential], !queue.isEmpty {
                let first = queue.removeFirst()
                s.script[credential] = queue
                return first
            }
            return s.defaults[credential]
        }
    }
}
