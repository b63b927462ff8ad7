import Foundation
import SluiceCore
import SluiceStore

/// The `Idempotency-Key` header of the chat endpoints: the first request with a
/// key claims it and its 2xx response is stored; the same key and body within
/// 24 h gets that response back without calling again; another body is a 409,
/// and so is a repeat while the first is still running, or one whose stored response
/// is encrypted with a key this node lacks. A failed request gives the key up, so
/// retrying it calls again.
public struct IdempotencyGate: Sendable {
    let store: any IdempotencyStore
    let clock: any WallClock
    /// How long a stored response is replayed.
    public static let window: TimeInterval = 86_400
    /// A claim never completed (its node died) is given up after this long.
    public static let abandonAfter: TimeInterval = 600
    /// Longest response body stored; a longer one is sent but not stored.
    public static let maxBodyBytes = 8 << 20

    /// A claimed key, to complete or release.
    public struct Ticket: Sendable {
        /// The key's scope (the virtual key's name, `""` without one).
        public let scope: String
        /// The client's key.
        public let key: String
        /// When it was claimed; identifies this claim.
        public let claimedAt: Date
    }

    /// What to do with a request carrying a key.
    public enum Decision: Sendable {
        /// Run it, then ``complete(_:status:headers:body:)`` or ``release(_:)``.
        case proceed(Ticket)
        /// Send the stored response instead.
        case replay(status: Int, headers: [(String, String)], body: [UInt8])
    }

    /// Validates `key` and claims it for `body` sent to `path` by `identity`.
    public func begin(key: String, path: String, body: [UInt8], identity: Identity) async throws(SluiceError) -> Decision {
        guard !key.isEmpty, key.utf8.count <= 255 else {
            throw SluiceError.invalidRequest("The Idempotency-Key header must be 1 to 255 characters.", param: "Idempotency-Key")
        }
        let canonical = (try? JSON.parse(body))?.canonicalBytes ?? body
        let hash = Hashing.sha256Hex(Array(path.utf8) + [0x0A] + canonical)
        let scope = identity.keyName ?? ""
        let now = clock.now()
        let claim: IdempotencyClaim
        do {
            claim = try await store.claimIdempotency(
                scope: scope, key: key, requestHash: hash, now: now, expiredBefore: now.addingTimeInterval(-Self.window),
                abandonedBefore: now.addingTimeInterval(-Self.abandonAfter))
        } catch {
            throw SluiceError(.internalError, "The idempotency key could not be checked: \(error). Retry, or send the request without Idempotency-Key.")
        }
        switch claim {
        case .claimed:
            // The same Date goes to the claim and to complete/release, so both round to the same millisecond.
            return .proceed(Ticket(scope: scope, key: key, claimedAt: now))
        case .replay(let stored):
            let pairs = (try? JSON.parse(stored.headers ?? "[]"))?.arrayValue ?? []
            let headers = pairs.compactMap { p -> (String, String)? in
                guard let a = p.arrayValue, a.count == 2, let n = a[0].stringValue, let v = a[1].stringValue else { return nil }
                return (n, v)
            }
            return .replay(status: stored.status ?? 200, headers: headers, body: Array((stored.body ?? "").utf8))
        case .inProgress:
            throw SluiceError(
                .idempotencyConflict,
                "A request with Idempotency-Key '\(key)' is still in progress; retry once it has finished.", param: "Idempotency-Key")
        case .conflict:
            throw SluiceError(
                .idempotencyConflict,
                "Idempotency-Key '\(key)' was already used with a different request in the last 24 h; use a new key for a new request.",
                param: "Idempotency-Key")
        case .unreadable:
            // Never replay the placeholder, and never run the request a second time under the key.
            throw SluiceError(
                .idempotencyConflict,
                "The response stored for Idempotency-Key '\(key)' is encrypted with a storage.encryption_key this node does not have, "
                    + "so it cannot be replayed; use a new key to send the request again.",
                param: "Idempotency-Key")
        }
    }

    /// Stores the response sent for a claimed key.
    public func complete(_ ticket: Ticket, status: Int, headers: [(String, String)], body: [UInt8]) async {
        let pairs = JSON.array(headers.map { JSON.array([.string($0.0), .string($0.1)]) })
        do {
            try await store.completeIdempotency(
                scope: ticket.scope, key: ticket.key, claimedAt: ticket.claimedAt, status: status, headers: pairs.jsonString,
                body: String(decoding: body, as: UTF8.self), now: clock.now())
        } catch {
            await release(ticket)
        }
    }

    /// Gives the key up: the request failed, and the next one with this key runs.
    public func release(_ ticket: Ticket) async {
        try? await store.releaseIdempotency(scope: ticket.scope, key: ticket.key, claimedAt: ticket.claimedAt)
    }
}
