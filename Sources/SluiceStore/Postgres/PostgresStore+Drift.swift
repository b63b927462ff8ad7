import Foundation
import PostgresNIO

extension PostgresStore {
    public func callStats(purpose: String, from: Date, to: Date, limit: Int) async throws -> [CallStat] {
        try await rows(
            "read call stats", DriftSQL.select { "$\($0)" }, [.text(purpose), .int(from.millis), .int(to.millis), .int(Int64(max(1, limit)))]
        ).compactMap { DriftSQL.stat(try Self.cells($0, kinds: DriftSQL.kinds), cipher: cipher) }
    }

    public func feedbackScores(purpose: String, from: Date, to: Date) async throws -> [Double] {
        try await rows("read feedback scores", DriftSQL.feedback { "$\($0)" }, [.text(purpose), .int(from.millis), .int(to.millis)])
            .map { try $0.decode(Double.self) }
    }
}
