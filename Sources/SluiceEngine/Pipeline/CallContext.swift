import Foundation
import SluiceCore

/// Attribution a client sends as `X-Sluice-*` headers or `metadata` keys.
public struct Attribution: Sendable, Equatable {
    /// `x-sluice-purpose`; `nil` when not sent.
    public var purpose: String?
    /// `x-sluice-run-id`; `nil` when not sent.
    public var runID: String?
    /// `x-sluice-user`; `nil` when not sent.
    public var user: String?
    /// `x-sluice-cache` (`default`, `bypass` or `refresh`); `nil` when not sent.
    public var cacheMode: String?
    /// `x-sluice-run-budget-usd`; `nil` when not sent.
    public var runBudget: String?
    /// `x-sluice-run-max-calls`; `nil` when not sent.
    public var runMaxCalls: String?
    /// The arm of the purpose's split this call runs (set by the purpose runner, never from headers).
    public var variant: String?
    /// For a shadow run: the live call it shadows (set by the shadow runner, never from headers).
    public var shadowOf: String?
    /// The inbound API (``Surface``'s raw value), set by the surface, never from headers; `nil` is `chat`.
    public var surface: String?

    /// Attribution from explicit values; `nil` means not sent.
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
        runBudget = get("x-sluice-run-budget-usd")
        runMaxCalls = get("x-sluice-run-max-calls")
    }

    /// Fills what this lacks from `other` (headers win over metadata).
    func merged(with other: Attribution) -> Attribution {
        var a = Attribution(
            purpose: purpose ?? other.purpose, runID: runID ?? other.runID,
            user: user ?? other.user, cacheMode: cacheMode ?? other.cacheMode)
        a.runBudget = runBudget ?? other.runBudget
        a.runMaxCalls = runMaxCalls ?? other.runMaxCalls
        a.variant = variant ?? other.variant
        a.shadowOf = shadowOf ?? other.shadowOf
        a.surface = surface ?? other.surface
        return a
    }
}

/// Everything known about a call before it reaches a provider.
public struct CallContext: Sendable {
    /// The time-ordered call id.
    public var callID: String
    /// When the call was created, by the wall clock.
    public var createdAt: Date
    /// When the request reached Sluice; latency and overhead count from here.
    public var start: ContinuousClock.Instant
    /// The authenticated caller.
    public var identity: Identity
    /// The validated purpose; `default` when none was sent.
    public var purpose: String
    /// The run id; `nil` when none was sent.
    public var runID: String?
    /// The end user from the header, `metadata` or the body's `user`; `nil` when none.
    public var user: String?
    /// `default`, `bypass` or `refresh`.
    public var cacheMode: String
    /// Whether the client sent `X-Sluice-Cache` (opting a raw call into the cache).
    public var cacheRequested = false
    /// The prompt the call rendered, for `/v1/purposes/{purpose}/run`.
    public var prompt: PromptRef?
    /// `X-Sluice-Run-Budget-Usd`: what the run may spend in all.
    public var runBudgetUSD: Double?
    /// `X-Sluice-Run-Max-Calls`: how many calls the run may make.
    public var runMaxCalls: Int?
    /// The inbound API (``Surface``'s raw value).
    public var surface = "chat"

    /// Whether `name` can be a purpose: 1–128 letters, digits, `_`, `-`, `.` or `:`.
    public static func isValidPurpose(_ name: String) -> Bool { validName(name) }

    static func validName(_ s: String) -> Bool {
        var ascii = true
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: ":"):
                continue
            case 0x80...: ascii = false
            default: return false
            }
        }
        if ascii { return !s.utf8.isEmpty && s.utf8.count <= 128 }
        return !s.isEmpty && s.count <= 128 && s.allSatisfy { $0.isLetter || $0.isNumber || "_-.:".contains($0) }
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
        var ctx = CallContext(
            callID: IDs.callID(at: now), createdAt: now, start: start, identity: identity, purpose: purpose,
            runID: a.runID, user: a.user ?? bodyUser, cacheMode: cache)
        ctx.cacheRequested = a.cacheMode != nil
        ctx.surface = a.surface ?? Surface.chat.rawValue
        if let text = a.runBudget {
            guard let v = Double(text), v > 0, v.isFinite else {
                throw .invalidRequest("X-Sluice-Run-Budget-Usd must be a positive number of dollars; got '\(text)'.", param: "X-Sluice-Run-Budget-Usd")
            }
            ctx.runBudgetUSD = v
        }
        if let text = a.runMaxCalls {
            guard let v = Int(text), v > 0 else {
                throw .invalidRequest("X-Sluice-Run-Max-Calls must be a positive integer; got '\(text)'.", param: "X-Sluice-Run-Max-Calls")
            }
            ctx.runMaxCalls = v
        }
        if (ctx.runBudgetUSD != nil || ctx.runMaxCalls != nil) && ctx.runID == nil {
            throw .invalidRequest("Run limits need the run they limit: send X-Sluice-Run-Id too.", param: "X-Sluice-Run-Id")
        }
        return ctx
    }
}

/// What the HTTP edge puts in `X-Sluice-*` response headers.
public struct ResponseMeta: Sendable {
    /// `X-Sluice-Call-Id`; omitted when `nil`.
    public var callID: String?
    /// `X-Sluice-Cost-Usd`; omitted when `nil` (unpriced or not answered).
    public var costUSD: Double?
    /// `X-Sluice-Provider`; omitted when `nil`.
    public var provider: String?
    /// `X-Sluice-Model`, the model that answered; omitted when `nil`.
    public var answeredModel: String?
    /// `X-Sluice-Attempts`: the number of upstream attempts.
    public var attempts: Int = 0
    /// `X-Sluice-Cache`: `hit`, `miss` or `bypass`.
    public var cache: String = "bypass"
    /// `X-Sluice-Cache-Similarity`: a semantic hit's cosine similarity.
    public var cacheSimilarity: Double?
    /// `X-Sluice-Overhead-Ms`: milliseconds spent in Sluice; omitted when `nil`.
    public var overheadMs: Double?
    /// `X-Sluice-Review-Id`: the review item the answer was queued as.
    public var reviewID: String?
    /// `X-Sluice-Degraded: true`: every target failed and the purpose's `fallback_response` was served.
    public var degraded = false
    /// `X-Sluice-Cascade`: `first` when the cascade's first model answered, `escalated` otherwise; `nil` outside cascades.
    public var cascade: String?

    /// Headers for `callID`, with no attempts and cache `bypass`.
    public init(callID: String? = nil) { self.callID = callID }
}
