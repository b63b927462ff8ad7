import Foundation
import SluiceCore
import SluiceStore

/// The weekly review's top error patterns: failed calls grouped by error code, provider and a
/// normalized message, in which URLs, quoted values, ids and numbers are replaced by placeholders
/// so that the same failure on different calls falls in one group.
enum ErrorPatterns {
    /// One group.
    struct Group {
        var code: String
        var provider: String?
        var pattern: String
        var count = 0
        var first: FailedCall
        var last: FailedCall
        var purposes: Set<String> = []
    }

    /// The code of a failed call. Call records keep the HTTP status and message, not SPEC's code
    /// name, so the name is given where the status has only one (`502` is `upstream_error`), and
    /// `http_429` and the like where it has several; the message pattern tells those apart.
    static func code(_ c: FailedCall) -> String {
        if c.status == "stream_interrupted" { return "stream_interrupted" }
        switch c.httpStatus {
        case 401: return "invalid_api_key"
        case 403: return "forbidden"
        case 404: return "not_found"
        case 409: return "idempotency_conflict"
        case 413: return "payload_too_large"
        case 499: return "client_closed_request"
        case 500: return "internal_error"
        case 502: return "upstream_error"
        case 504: return "timeout"
        default: return "http_\(c.httpStatus)"
        }
    }

    /// The message with URLs, quoted values, ids, hex strings and numbers replaced by `<url>`, `"…"`, `<id>` and `<n>`.
    static func normalize(_ message: String) -> String {
        var s = message
        s = s.replacing(#/https?://[^\s"'<>)]+/#, with: "<url>")
        s = s.replacing(#/"[^"]*"/#, with: "\"…\"")
        s = s.replacing(#/'[^']*'/#, with: "'…'")
        s = s.replacing(#/\b[A-Za-z]+_[0-9A-Za-z_\-]*[0-9][0-9A-Za-z_\-]*\b/#, with: "<id>")
        s = s.replacing(#/\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b/#, with: "<id>")
        s = s.replacing(#/\b(?=[0-9a-fA-F]*[0-9])(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b/#, with: "<id>")
        s = s.replacing(#/\$?-?\d+(?:[.,]\d+)*/#, with: "<n>")
        s = s.replacing(#/\s+/#, with: " ")
        return s.trimmingCharacters(in: .whitespaces)
    }

    struct Key: Hashable {
        var code: String
        var provider: String?
        var pattern: String
    }

    static func key(_ c: FailedCall) -> Key { Key(code: code(c), provider: c.provider, pattern: normalize(c.error ?? "")) }

    /// The groups of `current` (oldest first), biggest first, marked `new` when no call of `before`
    /// (the 30 days before the period) fell in the same group.
    static func json(current: [FailedCall], before: [FailedCall], limit: Int) -> JSON {
        var groups: [Key: Group] = [:]
        for c in current {
            let k = key(c)
            var g = groups[k] ?? Group(code: k.code, provider: k.provider, pattern: k.pattern, first: c, last: c)
            g.count += 1
            if c.createdAt < g.first.createdAt { g.first = c }
            if c.createdAt >= g.last.createdAt { g.last = c }
            g.purposes.insert(c.purpose)
            groups[k] = g
        }
        let seen = Set(before.map(key))
        let sorted = groups.sorted { a, b in
            a.value.count != b.value.count ? a.value.count > b.value.count : a.value.last.createdAt > b.value.last.createdAt
        }
        return .array(sorted.prefix(limit).map { k, g in
            let example = g.last.callID
            return [
                "code": .string(g.code), "provider": g.provider.map(JSON.string) ?? .null, "pattern": .string(g.pattern),
                "count": .int(g.count), "first_seen": .string(Timestamp.iso8601(g.first.createdAt)),
                "last_seen": .string(Timestamp.iso8601(g.last.createdAt)), "example_call_id": .string(example),
                "example_message": g.last.error.map(JSON.string) ?? .null,
                "purposes": .array(g.purposes.sorted().map(JSON.string)), "new": .bool(!seen.contains(k)),
                "links": [
                    "example": .string("/calls/\(ReviewText.q(example))"), "api": .string("/admin/calls/\(ReviewText.q(example))"),
                    "calls": .string("/calls?status=\(g.code == "stream_interrupted" ? "stream_interrupted" : "error")"),
                ],
            ]
        })
    }

    /// Calls refused because a budget was spent (`budget_exceeded`: 429 with "has reached its"), per purpose.
    static func budgetTrips(_ failed: [FailedCall]) -> JSON {
        let trips = failed.filter { $0.httpStatus == 429 && ($0.error ?? "").contains("has reached its") }
        let byPurpose = Dictionary(grouping: trips, by: \.purpose)
        return .array(byPurpose.keys.sorted().map { p in
            let calls = byPurpose[p] ?? []
            return [
                "purpose": .string(p), "refused_calls": .int(calls.count),
                "first": .string(Timestamp.iso8601(calls.first?.createdAt ?? Date(timeIntervalSince1970: 0))),
                "last": .string(Timestamp.iso8601(calls.last?.createdAt ?? Date(timeIntervalSince1970: 0))),
                "message": calls.last?.error.map(JSON.string) ?? .null,
                "links": ["calls": .string("/calls?purpose=\(ReviewText.q(p))&status=error"), "spend": "/admin/cost-summary"],
            ]
        })
    }
}

extension WeeklyReview {
    /// The pattern an error message is grouped under: URLs, quoted values, ids and numbers replaced by placeholders.
    public static func errorPattern(_ message: String) -> String { ErrorPatterns.normalize(message) }
}
