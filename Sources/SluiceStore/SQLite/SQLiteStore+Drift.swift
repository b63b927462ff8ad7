import Foundation
import GRDB

extension SQLiteStore {
    public func callStats(purpose: String, from: Date, to: Date, limit: Int) async throws -> [CallStat] {
        let sql = DriftSQL.select { _ in "?" }
        let cipher = self.cipher
        return try await pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: [purpose, from.millis, to.millis, max(1, limit)])
                .compactMap { DriftSQL.stat(Self.cells($0, count: 12), cipher: cipher) }
        }
    }

    public func feedbackScores(purpose: String, from: Date, to: Date) async throws -> [Double] {
        let sql = DriftSQL.feedback { _ in "?" }
        return try await pool.read { db in
            try Double.fetchAll(db, sql: sql, arguments: [purpose, from.millis, to.millis])
        }
    }
}
