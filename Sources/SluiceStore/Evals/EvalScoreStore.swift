import Foundation

/// One row of a scheduled eval run: a suite's result for one prompt version × model.
public struct EvalScore: Sendable, Equatable {
    /// Time-ordered id.
    public var id: String
    /// The suite's name.
    public var suite: String
    /// The purpose the suite exercises.
    public var purpose: String
    /// The prompt version run (`nil` for the live one of a prompt-less purpose).
    public var promptVersion: String?
    /// The configured model run.
    public var model: String
    /// The model version that answered most of the cases.
    public var answeredModel: String?
    /// Cases (× repeats) run.
    public var cases: Int
    /// Passed / run, 0…1.
    public var passRate: Double
    /// Mean judge score, when the suite has judged expectations.
    public var judgeMean: Double?
    /// Total cost in USD.
    public var costUSD: Double
    /// When the run finished.
    public var at: Date

    /// A row; see the properties.
    public init(
        id: String, suite: String, purpose: String, promptVersion: String?, model: String, answeredModel: String?, cases: Int,
        passRate: Double, judgeMean: Double?, costUSD: Double, at: Date
    ) {
        self.id = id
        self.suite = suite
        self.purpose = purpose
        self.promptVersion = promptVersion
        self.model = model
        self.answeredModel = answeredModel
        self.cases = cases
        self.passRate = passRate
        self.judgeMean = judgeMean
        self.costUSD = costUSD
        self.at = at
    }
}

/// Scheduled eval results, shared by every node.
public protocol EvalScoreStore: Sendable {
    /// Claims the run of `suite` for time slot `slot` (one per `every` period): `true` for exactly one caller.
    func claimEvalSlot(suite: String, slot: Int64, node: String, at: Date) async throws -> Bool
    /// Stores the rows of one run.
    func addEvalScores(_ scores: [EvalScore]) async throws
    /// The rows of the latest run of each suite for `purpose`, newest first, at most `limit`.
    func evalScores(purpose: String, limit: Int) async throws -> [EvalScore]
}

enum EvalScoreColumns {
    static let names = [
        "id", "suite", "purpose", "prompt_version", "model", "answered_model", "cases", "pass_rate", "judge_mean", "cost_usd", "at_ms",
    ]
    static let list = names.joined(separator: ", ")
    static let kinds: [CallColumns.Kind] = [.text, .text, .text, .text, .text, .text, .int, .double, .double, .double, .int]
}

extension EvalScore {
    var cells: [Cell] {
        func t(_ s: String?) -> Cell { s.map(Cell.text) ?? .null }
        return [
            .text(id), .text(suite), .text(purpose), t(promptVersion), .text(model), t(answeredModel), .int(Int64(cases)),
            .double(passRate), judgeMean.map(Cell.double) ?? .null, .double(costUSD), .int(at.millis),
        ]
    }

    init?(cells c: [Cell]) {
        guard c.count == EvalScoreColumns.names.count, let id = c[0].text, let suite = c[1].text, let purpose = c[2].text,
            let model = c[4].text, let at = c[10].int
        else { return nil }
        self.init(
            id: id, suite: suite, purpose: purpose, promptVersion: c[3].text, model: model, answeredModel: c[5].text,
            cases: Int(c[6].int ?? 0), passRate: c[7].double ?? 0, judgeMean: c[8].double, costUSD: c[9].double ?? 0,
            at: Date(millis: at))
    }
}
