import Foundation

/// A response stored under a client's `Idempotency-Key`, or the claim on it
/// while the first request is still running.
public struct IdempotentResponse: Sendable, Equatable {
    /// Whose key it is: the virtual key's name, `""` when the caller had none.
    public var scope: String
    /// The client's idempotency key.
    public var key: String
    /// SHA-256 of the endpoint and the canonical request body.
    public var requestHash: String
    /// When the first request claimed the key.
    public var createdAt: Date
    /// When its response was stored; `nil` while it is still running.
    public var completedAt: Date?
    /// The HTTP status sent.
    public var status: Int?
    /// The response headers sent, as `[[name, value], …]` JSON text.
    public var headers: String?
    /// The response body sent (JSON or server-sent events, UTF-8); sealed at rest with a cipher,
    /// ``BodyCipher/unreadable`` when read without its key.
    public var body: String?

    /// A row; see the properties.
    public init(
        scope: String, key: String, requestHash: String, createdAt: Date, completedAt: Date? = nil, status: Int? = nil,
        headers: String? = nil, body: String? = nil
    ) {
        self.scope = scope
        self.key = key
        self.requestHash = requestHash
        self.createdAt = createdAt
        self.completedAt = completedAt
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// What claiming an idempotency key found.
public enum IdempotencyClaim: Sendable, Equatable {
    /// The key is this request's now (new, or the old row had expired or was abandoned).
    case claimed
    /// The same request already completed: send its stored response.
    case replay(IdempotentResponse)
    /// The same request is still running elsewhere.
    case inProgress(IdempotentResponse)
    /// The key was used with another request.
    case conflict(IdempotentResponse)
    /// The same request completed, but its stored response is sealed with a key this node does
    /// not hold (`storage.encryption_key` missing or different), so it cannot be replayed.
    case unreadable(IdempotentResponse)
}

/// Responses stored under `Idempotency-Key` headers, shared by every node.
public protocol IdempotencyStore: Sendable {
    /// Claims `(scope, key)` for a request in one statement: a new row, or one that replaces a row
    /// created before `expiredBefore` (any) or `abandonedBefore` (never completed). Otherwise says what
    /// the existing row is: the same hash completed (`replay`) or running (`inProgress`), or another hash (`conflict`).
    func claimIdempotency(
        scope: String, key: String, requestHash: String, now: Date, expiredBefore: Date, abandonedBefore: Date
    ) async throws -> IdempotencyClaim
    /// Stores the response of the claim made at `claimedAt` (unchanged if the claim was since replaced).
    func completeIdempotency(
        scope: String, key: String, claimedAt: Date, status: Int, headers: String, body: String, now: Date
    ) async throws
    /// Gives up the claim made at `claimedAt` (the request failed; the next one with the key runs again).
    func releaseIdempotency(scope: String, key: String, claimedAt: Date) async throws
    /// Deletes rows created before `before`; returns how many.
    func pruneIdempotency(before: Date) async throws -> Int
}

extension IdempotentResponse {
    /// The claim outcome for a request with `requestHash` that found this row.
    public func claim(for requestHash: String) -> IdempotencyClaim {
        if self.requestHash != requestHash { return .conflict(self) }
        if completedAt == nil { return .inProgress(self) }
        return body == BodyCipher.unreadable ? .unreadable(self) : .replay(self)
    }

    /// Column names in cell order.
    static let columns = ["scope", "key", "request_hash", "created_at_ms", "completed_at_ms", "status", "headers", "body"]
    static let list = columns.joined(separator: ", ")
    static let kinds: [CallColumns.Kind] = [.text, .text, .text, .int, .int, .int, .text, .text]

    /// The row as cells in ``columns`` order.
    var cells: [Cell] {
        [
            .text(scope), .text(key), .text(requestHash), .int(createdAt.millis), completedAt.map { .int($0.millis) } ?? .null,
            status.map { .int(Int64($0)) } ?? .null, headers.map(Cell.text) ?? .null, body.map(Cell.text) ?? .null,
        ]
    }

    /// A row from cells in ``columns`` order, its body opened with `cipher`.
    init?(cells c: [Cell], cipher: BodyCipher?) {
        guard c.count == Self.columns.count, let scope = c[0].text, let key = c[1].text, let hash = c[2].text, let at = c[3].int
        else { return nil }
        self.init(
            scope: scope, key: key, requestHash: hash, createdAt: Date(millis: at), completedAt: c[4].int.map(Date.init(millis:)),
            status: c[5].int.map { Int($0) }, headers: c[6].text, body: BodyCipher.open(c[7].text, with: cipher))
    }
}
