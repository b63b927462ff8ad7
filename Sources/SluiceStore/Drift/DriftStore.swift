import Foundation
import SluiceCore

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
    /// The answer's sentiment in −1…1 (`nil`: no text answer, or recorded before migration 021).
    public var outputSentiment: Double?
    /// Characters of text in the request (`nil`: not recorded).
    public var inputChars: Int?
    /// The request's dominant script (`nil`: no letters, or not recorded).
    public var inputScript: String?
    /// The names of the tools the answer called, in order (empty: none).
    public var tools: [String] = []

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
    static let columns = """
        created_at_ms, answered_model, status, http_status, output_tokens, latency_ms, schema_valid, refusal, \
        output_sentiment, input_chars, input_script, tool_calls
        """

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

    /// A stat from cells in ``columns`` order; tool calls sealed at rest are opened with `cipher`.
    static func stat(_ c: [Cell], cipher: BodyCipher?) -> CallStat? {
        guard c.count == 12, let at = c[0].int, let status = c[2].text else { return nil }
        var s = CallStat(
            at: Date(millis: at), answeredModel: c[1].text, status: status, httpStatus: Int(c[3].int ?? 0),
            outputTokens: Int(c[4].int ?? 0), latencyMs: c[5].double ?? 0, schemaValid: c[6].int.map { $0 != 0 },
            refusal: c[7].int.map { $0 != 0 })
        s.outputSentiment = c[8].double
        s.inputChars = c[9].int.map { Int($0) }
        s.inputScript = c[10].text
        if c[11].text != nil { s.tools = ToolCall.decode(BodyCipher.open(c[11].text, with: cipher)).map(\.name) }
        return s
    }

    static let kinds: [CallColumns.Kind] = [.int, .text, .text, .int, .int, .double, .int, .int, .double, .int, .text, .text]
}
