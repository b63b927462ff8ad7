import Foundation
import SluiceCore

/// One shadow run beside the live call it shadowed.
public struct ShadowPair: Sendable, Equatable {
    /// The live call (what the client got).
    public var primary: CallRecord
    /// The shadow run (`shadow_of` is the primary's id).
    public var shadow: CallRecord

    /// A pair; see the properties.
    public init(primary: CallRecord, shadow: CallRecord) {
        self.primary = primary
        self.shadow = shadow
    }
}

/// Reads shadow runs with their live calls, for `GET /admin/shadow/{purpose}`.
public protocol ShadowStore: Sendable {
    /// Shadow runs whose purpose is `purpose` (the shadow's, `PURPOSE:shadow`), created at or after
    /// `since`, newest first, at most `limit` (clamped to 1…50,000), each joined to its stored primary.
    func shadowPairs(purpose: String, since: Date, limit: Int) async throws -> [ShadowPair]
}

enum ShadowSQL {
    static let maxLimit = 50_000

    /// `s` is the shadow row, `p` its primary; the primary's columns come first.
    static func select(quote: (String) -> String, placeholder: (Int) -> String) -> String {
        let cols = CallColumns.names.map { "p.\(quote($0))" } + CallColumns.names.map { "s.\(quote($0))" }
        return """
            SELECT \(cols.joined(separator: ", ")) FROM calls s JOIN calls p ON p.call_id = s.shadow_of
            WHERE s.purpose = \(placeholder(1)) AND s.shadow_of IS NOT NULL AND s.created_at_ms >= \(placeholder(2))
            ORDER BY s.call_id DESC LIMIT \(placeholder(3))
            """
    }

    static func values(purpose: String, since: Date, limit: Int) -> [Cell] {
        let ms = (since.timeIntervalSince1970 * 1000).rounded(.down)
        return [.text(purpose), .int(Int64(ms.isFinite ? max(-1e17, min(1e17, ms)) : 0)), .int(Int64(max(1, min(limit, maxLimit))))]
    }
}
