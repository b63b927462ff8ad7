import Foundation
import NIOHTTP1

/// What one upstream answer said about its key's rate limits. Every field is optional:
/// an upstream that sends no rate-limit headers (Gemini) yields an empty reading.
public struct RateLimitReading: Sendable, Equatable {
    /// Requests the key may still make in the current window.
    public var remainingRequests: Int?
    /// Tokens the key may still use in the current window (Anthropic: the tightest of
    /// the total, input and output token limits).
    public var remainingTokens: Int?
    /// When the request window resets.
    public var requestsReset: Date?
    /// When the token window resets.
    public var tokensReset: Date?

    /// A reading from its parts; all `nil` by default.
    public init(remainingRequests: Int? = nil, remainingTokens: Int? = nil, requestsReset: Date? = nil, tokensReset: Date? = nil) {
        self.remainingRequests = remainingRequests
        self.remainingTokens = remainingTokens
        self.requestsReset = requestsReset
        self.tokensReset = tokensReset
    }

    /// True when the answer carried no rate-limit header Sluice reads.
    public var isEmpty: Bool { self == RateLimitReading() }
}

/// Reads the rate-limit headers of OpenAI-family upstreams (OpenAI, Azure OpenAI and the
/// compatible servers that copy them: `x-ratelimit-remaining-requests`, `…-tokens`,
/// `x-ratelimit-reset-requests`, `…-tokens` as durations like `1s`, `6m0s`, `20ms`) and of
/// Anthropic (`anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{remaining,reset}`,
/// resets as RFC 3339 times). The two families never share a name, so both are read always.
public enum RateLimitHeaders {
    /// The reading of `headers`, resets resolved against `now`.
    public static func read(_ headers: HTTPHeaders, now: Date) -> RateLimitReading {
        read(now: now) { headers.first(name: $0) }
    }

    /// The reading of the headers `lookup` returns by lowercase name, resets resolved against `now`.
    public static func read(now: Date, _ lookup: (String) -> String?) -> RateLimitReading {
        var r = RateLimitReading()
        r.remainingRequests = lookup("x-ratelimit-remaining-requests").flatMap(count)
        r.remainingTokens = lookup("x-ratelimit-remaining-tokens").flatMap(count)
        r.requestsReset = lookup("x-ratelimit-reset-requests").flatMap { reset($0, now: now) }
        r.tokensReset = lookup("x-ratelimit-reset-tokens").flatMap { reset($0, now: now) }
        let a = "anthropic-ratelimit-"
        if let n = lookup(a + "requests-remaining").flatMap(count) {
            r.remainingRequests = n
            r.requestsReset = lookup(a + "requests-reset").flatMap { reset($0, now: now) }
        }
        // The tightest token limit decides; at a tie the later reset (the longer wait) wins.
        for kind in ["tokens", "input-tokens", "output-tokens"] {
            guard let n = lookup(a + kind + "-remaining").flatMap(count) else { continue }
            let at = lookup(a + kind + "-reset").flatMap { reset($0, now: now) }
            if let current = r.remainingTokens, current < n { continue }
            if let current = r.remainingTokens, current == n, let old = r.tokensReset, let at, old >= at { continue }
            r.remainingTokens = n
            r.tokensReset = at ?? r.tokensReset
        }
        return r
    }

    /// A non-negative count (`"59"`); fractional or malformed values are ignored.
    static func count(_ text: String) -> Int? {
        guard let n = Int(text.trimmingCharacters(in: .whitespaces)), n >= 0 else { return nil }
        return n
    }

    /// A reset as a duration from `now` (`6m0s`), a bare number of seconds, or an RFC 3339 time.
    static func reset(_ text: String, now: Date) -> Date? {
        let v = text.trimmingCharacters(in: .whitespaces)
        if let s = seconds(v) { return now.addingTimeInterval(s) }
        return rfc3339(v)
    }

    /// The seconds of a Go-style duration (`1h2m3.5s`, `20ms`, `250us`) or a bare number; `nil` otherwise.
    public static func seconds(_ text: String) -> Double? {
        if let s = Double(text), s.isFinite, s >= 0 { return s }
        var total = 0.0
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "h": scale = 3600
            case "m": scale = 60
            case "s": scale = 1
            case "ms": scale = 1e-3
            case "us", "µs": scale = 1e-6
            case "ns": scale = 1e-9
            default: return nil
            }
            total += value * scale
        }
        return total
    }

    /// An RFC 3339 time (`2026-11-23T10:50:20Z`, fractional seconds and offsets allowed).
    public static func rfc3339(_ text: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: text) { return d }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: text)
    }
}
