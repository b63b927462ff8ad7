import Foundation
import PostgresNIO

/// Responses API state on PostgreSQL, shared by every node.
extension PostgresStore {
    static let saveResponseSQL =
        "INSERT INTO responses (\(ResponseColumns.list)) VALUES ("
        + (1...ResponseColumns.names.count).map { "$\($0)" }.joined(separator: ", ") + ") ON CONFLICT (id) DO UPDATE SET "
        + ResponseColumns.names.dropFirst().map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")
    static let responseSelectSQL = "SELECT \(ResponseColumns.list) FROM responses WHERE id = $1"

    /// Stores the response, replacing the one with its id, in one upsert.
    public func saveResponse(_ r: StoredResponse) async throws {
        _ = try await rows("save response", Self.saveResponseSQL, r.cells(sealedBy: cipher))
    }

    /// The response with this id, or `nil`.
    public func response(_ id: String) async throws -> StoredResponse? {
        try await rows("get response", Self.responseSelectSQL, [.text(id)]).first.flatMap(storedResponse)
    }

    /// Deletes the response; `false` when there was none.
    public func deleteResponse(_ id: String) async throws -> Bool {
        let deleted = try await rows("delete response", "DELETE FROM responses WHERE id = $1 RETURNING 1", [.text(id)])
        return !deleted.isEmpty
    }

    /// The response and its nearest ancestors, oldest first, in one recursive query.
    public func responseChain(_ id: String, limit: Int) async throws -> [StoredResponse] {
        let limit = ResponseColumns.chainLimit(limit)
        guard limit > 0 else { return [] }
        return try await rows("response chain", ResponseColumns.chain { "$\($0)" }, [.text(id), .int(limit)]).compactMap(storedResponse)
    }

    /// Sets the status in one conditional `UPDATE … RETURNING`; `nil` when the status was not one of
    /// `onlyFrom` (two nodes racing to change one response: exactly one gets it back).
    public func updateResponseStatus(
        _ id: String, status: StoredResponse.Status, error: String?, now: Date, onlyFrom: [StoredResponse.Status]
    ) async throws -> StoredResponse? {
        guard !onlyFrom.isEmpty else { return nil }
        let values: [Cell] =
            [.text(status.rawValue), error.map(Cell.text) ?? .null, .int(now.millis), .text(id)] + onlyFrom.map { .text($0.rawValue) }
        return try await rows("update response status", ResponseColumns.updateStatus(from: onlyFrom.count) { "$\($0)" }, values)
            .first.flatMap(storedResponse)
    }

    /// Deletes the responses that expired before `before`; returns how many (counted by the server).
    public func deleteExpiredResponses(before: Date) async throws -> Int {
        let sql = "WITH gone AS (\(ResponseColumns.deleteExpired { "$\($0)" }) RETURNING 1) SELECT count(*) FROM gone"
        let row = try await rows("delete expired responses", sql, [.int(before.millis)]).first
        return try Int(row?.decode(Int64.self) ?? 0)
    }

    /// The response of a row, its bodies opened with this store's cipher.
    func storedResponse(_ row: PostgresRow) throws -> StoredResponse? {
        StoredResponse(cells: try Self.cells(row, kinds: ResponseColumns.kinds), cipher: cipher)
    }
}
