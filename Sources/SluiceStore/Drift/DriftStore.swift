import Foundation

/// The few fields of one call that drift statistics read.
public struct CallStat: Sendable, Equatable {
    /// When the call was made.
    public var at: Date
    /// The model version that answered (`nil` when none did).
    public var answeredModel: String?
    /// `ok`, `error`, `stream_interrupted`, `degraded`.
    public var status: String
    /// The HTTP status sent.
    public var httpStatus: Int
    /// Output tokens.
    public var outputTokens: Int
    /// Latency in milliseconds.
    public var latencyMs: Double
    /// Whether the answer matched its schema (`nil`: no schema).
    public var schemaValid: Bool?
    /// Whether the answer was a refusal (`nil`: not judged).
    public var refusal: Bool?

    /// A stat; see the properties.
    public init(
        at: Date, answeredModel: String?, status: String, httpStatus: Int, outputTokens: Int, latencyMs: Double,
        schemaValid: Bool?, refusal: Bool?
    ) {
        self.at = at
        self.answeredModel = answeredModel
        self.status = status
        self.httpStatus = httpStatus
        self.outputTokens = outputTokens
        self.latencyMs = latencyMs
        self.schemaValid = schemaValid
        self.refusal = refusal
    }
}

/// Reads call statistics for drift reports, newest first.
public protocol DriftStore: Sendable {
    /// The calls of `purpose` made in `[from, to)`, at most `limit` (newest first).
    func callStats(purpose: String, from: Date, to: Date, limit: Int) async throws -> [CallStat]
    /// Feedback scores given to calls of `purpose` made in `[from, to)`.
    func feedbackScores(purpose: String, from: Date, to: Date) async throws -> [Double]
}

enum DriftSQL {
    static let columns = "created_at_ms, answered_model, status, http_status, output_tokens, latency_ms, schema_valid, refusal"

    static func select(_ p: (Int) -> String) -> String {
        """
        SELECT \(columns) FROM calls
        WHERE purpose = \(p(1)) AND created_at_ms >= \(p(2)) AND created_at_ms < \(p(3))
        ORDER BY created_at_ms DESC LIMIT \(p(4))
        """
    }

    static func feedback(_ p: (Int) -> String) -> String {
        """
        SELECT f.score FROM feedback f JOIN calls c ON c.call_id = f.call_id
        WHERE c.purpose = \(p(1)) AND c.created_at_ms >= \(p(2)) AND c.created_at_ms < \(p(3))
        """
    }

    static func stat(_ c: [Cell]) -> CallStat? {
        guard c.count == 8, let at = c[0].int, let status = c[2].text else { return nil }
        return CallStat(
            at: Date(millis: at), answeredModel: c[1].text, status: status, httpStatus: Int(c[3].int ?? 0),
            outputTokens: Int(c[4].int ?? 0), latencyMs: c[5].double ?? 0, schemaValid: c[6].int.map { $0 != 0 },
            refusal: c[7].int.map { $0 != 0 })
    }

    static let kinds: [CallColumns.Kind] = [.int, .text, .text, .int, .int, .double, .int, .int]
}
