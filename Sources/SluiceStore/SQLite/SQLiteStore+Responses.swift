import Foundation
import GRDB

/// Responses API state on SQLite.
extension SQLiteStore {
    static let saveResponseSQL =
        "INSERT OR REPLACE INTO responses (\(ResponseColumns.list)) VALUES ("
        + Array(repeating: "?", count: ResponseColumns.names.count).joined(separator: ", ") + ")"
    static let responseSelectSQL = "SELECT \(ResponseColumns.list) FROM responses WHERE id = ?"

    /// Stores the response, replacing the one with its id; bodies are sealed before the write lock is taken.
    public func saveResponse(_ r: StoredResponse) async throws {
        let values = r.cells(sealedBy: cipher).map(\.databaseValue)
        try await pool.write { db in try db.execute(sql: Self.saveResponseSQL, arguments: StatementArguments(values)) }
    }

    /// The response with this id, or `nil`.
    public func response(_ id: String) async throws -> StoredResponse? {
        let cipher = self.cipher
        return try await pool.read { db in
            try Row.fetchOne(db, sql: Self.responseSelectSQL, arguments: [id]).flatMap { Self.storedResponse($0, cipher) }
        }
    }

    /// Deletes the response; `false` when there was none.
    public func deleteResponse(_ id: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM responses WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    /// The response and its nearest ancestors, oldest first, in one recursive query.
    public func responseChain(_ id: String, limit: Int) async throws -> [StoredResponse] {
        let limit = ResponseColumns.chainLimit(limit)
        guard limit > 0 else { return [] }
        let cipher = self.cipher
        return try await pool.read { db in
            try Row.fetchAll(db, sql: ResponseColumns.chain { _ in "?" }, arguments: [id, limit])
                .compactMap { Self.storedResponse($0, cipher) }
        }
    }

    /// Sets the status in one conditional `UPDATE … RETURNING`; `nil` when the status was not one of `onlyFrom`.
    public func updateResponseStatus(
        _ id: String, status: StoredResponse.Status, error: String?, now: Date, onlyFrom: [StoredResponse.Status]
    ) async throws -> StoredResponse? {
        guard !onlyFrom.isEmpty else { return nil }
        let sql = ResponseColumns.updateStatus(from: onlyFrom.count) { _ in "?" }
        let values: [DatabaseValue] =
            [status.rawValue.databaseValue, error.databaseValue, now.millis.databaseValue, id.databaseValue]
            + onlyFrom.map(\.rawValue.databaseValue)
        let cipher = self.cipher
        return try await pool.write { db in
            try Row.fetchOne(db, sql: sql, arguments: StatementArguments(values)).flatMap { Self.storedResponse($0, cipher) }
        }
    }

    /// Deletes the responses that expired before `before`; returns how many.
    public func deleteExpiredResponses(before: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: ResponseColumns.deleteExpired { _ in "?" }, arguments: [before.millis])
            return db.changesCount
        }
    }

    static func storedResponse(_ row: Row, _ cipher: BodyCipher?) -> StoredResponse? {
        StoredResponse(cells: cells(row, count: ResponseColumns.names.count), cipher: cipher)
    }
}
