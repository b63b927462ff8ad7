import Foundation
import PostgresNIO

extension PostgresStore {
    public func claimEvalSlot(suite: String, slot: Int64, node: String, at: Date) async throws -> Bool {
        try await !rows(
            "claim eval slot",
            "INSERT INTO eval_slots (suite, slot, node, at_ms) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1",
            [.text(suite), .int(slot), .text(node), .int(at.millis)]
        ).isEmpty
    }

    public func addEvalScores(_ scores: [EvalScore]) async throws {
        let sql = "INSERT INTO eval_scores (\(EvalScoreColumns.list)) VALUES ("
            + (1...EvalScoreColumns.names.count).map { "$\($0)" }.joined(separator: ", ") + ") ON CONFLICT DO NOTHING"
        for s in scores { _ = try await rows("add eval score", sql, s.cells) }
    }

    public func evalScores(purpose: String, limit: Int) async throws -> [EvalScore] {
        try await rows(
            "read eval scores", "SELECT \(EvalScoreColumns.list) FROM eval_scores WHERE purpose = $1 ORDER BY at_ms DESC, id DESC LIMIT $2",
            [.text(purpose), .int(Int64(max(1, limit)))]
        ).compactMap { EvalScore(cells: try Self.cells($0, kinds: EvalScoreColumns.kinds)) }
    }
}
