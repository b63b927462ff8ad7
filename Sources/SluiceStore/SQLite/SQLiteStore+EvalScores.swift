import Foundation
import GRDB

extension SQLiteStore {
    public func claimEvalSlot(suite: String, slot: Int64, node: String, at: Date) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO eval_slots (suite, slot, node, at_ms) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                arguments: [suite, slot, node, at.millis])
            return db.changesCount == 1
        }
    }

    public func addEvalScores(_ scores: [EvalScore]) async throws {
        let sql = "INSERT INTO eval_scores (\(EvalScoreColumns.list)) VALUES ("
            + Array(repeating: "?", count: EvalScoreColumns.names.count).joined(separator: ", ") + ") ON CONFLICT DO NOTHING"
        try await pool.write { db in
            for s in scores { try db.execute(sql: sql, arguments: StatementArguments(s.cells.map(\.databaseValue))) }
        }
    }

    public func evalScores(purpose: String, limit: Int) async throws -> [EvalScore] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT \(EvalScoreColumns.list) FROM eval_scores WHERE purpose = ? ORDER BY at_ms DESC, id DESC LIMIT ?",
                arguments: [purpose, max(1, limit)]
            ).compactMap { EvalScore(cells: Self.cells($0, count: EvalScoreColumns.names.count)) }
        }
    }
}
