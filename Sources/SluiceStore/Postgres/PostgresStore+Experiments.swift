import Foundation
import PostgresNIO
import SluiceCore

/// Feedback and shadow pairs on PostgreSQL, shared by every node.
extension PostgresStore {
    static let addFeedbackSQL =
        "INSERT INTO feedback (\(FeedbackColumns.list)) VALUES ("
        + (1...FeedbackColumns.names.count).map { "$\($0)" }.joined(separator: ", ") + ") ON CONFLICT (id) DO NOTHING"

    /// Stores one item; an id already stored is kept as it is.
    public func addFeedback(_ item: Feedback) async throws {
        _ = try await rows("add feedback", Self.addFeedbackSQL, item.cells)
    }

    /// The item with this id, or `nil`.
    public func feedback(_ id: String) async throws -> Feedback? {
        try await rows("get feedback", "SELECT \(FeedbackColumns.list) FROM feedback WHERE id = $1", [.text(id)]).first
            .flatMap { Feedback(cells: try Self.cells($0, kinds: FeedbackColumns.kinds)) }
    }

    /// Every item about one of these calls, oldest first.
    public func feedback(callIDs: [String]) async throws -> [Feedback] {
        var out: [Feedback] = []
        for start in stride(from: 0, to: callIDs.count, by: FeedbackColumns.idsPerStatement) {
            let ids = callIDs[start..<min(start + FeedbackColumns.idsPerStatement, callIDs.count)]
            let marks = (1...ids.count).map { "$\($0)" }.joined(separator: ", ")
            let found = try await rows(
                "list feedback", "SELECT \(FeedbackColumns.list) FROM feedback WHERE call_id IN (\(marks))", ids.map(Cell.text))
            out += try found.compactMap { Feedback(cells: try Self.cells($0, kinds: FeedbackColumns.kinds)) }
        }
        return out.sorted { $0.id < $1.id }
    }

    /// Shadow runs of `purpose` with their primaries, newest first.
    public func shadowPairs(purpose: String, since: Date, limit: Int) async throws -> [ShadowPair] {
        let sql = ShadowSQL.select(quote: { "\"\($0)\"" }, placeholder: { "$\($0)" })
        let kinds = CallColumns.kinds
        let cipher = self.cipher
        return try await rows("list shadow pairs", sql, ShadowSQL.values(purpose: purpose, since: since, limit: limit)).map { row in
            let all = try Self.cells(row, kinds: kinds + kinds)
            return ShadowPair(
                primary: CallRecord(cells: Array(all[..<kinds.count]), cipher: cipher),
                shadow: CallRecord(cells: Array(all[kinds.count...]), cipher: cipher))
        }
    }
}
