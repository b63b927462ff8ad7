import Foundation
import SluiceCore

/// Attribution a client sends as `X-Sluice-*` headers or `metadata` keys.
public struct Attribution: Sendable, Equatable {
    public var purpose: String?
    public var runID: String?
    public var user: String?
    public var cacheMode: String?

    public init(purpose: String? = nil, runID: String? = nil, user: String? = nil, cacheMode: String? = nil) {
        self.purpose = purpose
        self.runID = runID
        self.user = user
        self.cacheMode = cacheMode
    }

    /// Reads the lowercased `x-sluice-*` names from headers or metadata.
    public init(lowercasedValues get: (String) -> String?) {
        self.init(
            purpose: get("x-sluice-purpose"), runID: get("x-sluice-run-id"),
            user: get("x-sluice-user"), cacheMode: get("x-sluice-cache"))
    }

    /// Fills what this lacks from `other` (headers win over metadata).
    func merged(with other: Attribution) -> Attribution {
        Attribution(
            purpose: purpose ?? other.purpose, runID: runID ?? other.runID,
            user: user ?? other.user, cacheMode: cacheMode ?? other.cacheMode)
    }
}

/// Everything known about a call before it reaches a provider.
public struct CallContext: Sendable {
    public var callID: String
    public var createdAt: Date
    public var start: ContinuousClock.Instant
    public var identity: Identity
    public var purpose: String
    public var runID: String?
    public var user: String?
    /// `default`, `bypass` or `refresh`.
    public var cacheMode: String

    static func validName(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 128 && s.allSatisfy { $0.isLetter || $0.isNumber || "_-.:".contains($0) }
    }

    /// Validates attribution values into a context.
    static func make(
        attribution a: Attribution, identity: Identity, user bodyUser: String?, clock: any WallClock,
        start: ContinuousClock.Instant
    ) throws(SluiceError) -> CallContext {
        let purpose = a.purpose ?? "default"
        guard validName(purpose) else {
            throw .invalidRequest(
                "Purpose '\(purpose)' is not a valid name: use letters, digits, '_', '-', '.' or ':' (at most 128).",
                param: "X-Sluice-Purpose")
        }
        if let run = a.runID, run.isEmpty || run.count > 200 {
            throw .invalidRequest("X-Sluice-Run-Id must be 1 to 200 characters.", param: "X-Sluice-Run-Id")
        }
        let cache = a.cacheMode ?? "default"
        guard ["default", "bypass", "refresh"].contains(cache) else {
            throw .invalidRequest("X-Sluice-Cache must be default, bypass or refresh; got '\(cache)'.", param: "X-Sluice-Cache")
        }
        guard identity.allows(purpose: purpose) else {
            throw SluiceError(.forbidden, "Key '\(identity.keyName ?? "")' may not use purpose '\(purpose)'.", param: "X-Sluice-Purpose")
        }
        let now = clock.now()
        return CallContext(
            callID: IDs.callID(at: now), createdAt: now, start: start, identity: identity, purpose: purpose,
            runID: a.runID, user: a.user ?? bodyUser, cacheMode: cache)
    }
}

/// What the HTTP edge puts in `X-Sluice-*` response headers.
public struct ResponseMeta: Sendable {
    public var callID: String?
    public var costUSD: Double?
    public var provider: String?
    public var answeredModel: String?
    public var attempts: Int = 0
    public var cache: String = "bypass"
    public var overheadMs: Double?

    public init(callID: String? = nil) { self.callID = callID }
}
