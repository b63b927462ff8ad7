import Foundation

/// The column order and statements shared by both backends' `responses` table.
enum ResponseColumns {
    static let names = [
        "id", "scope", "status", "model", "previous_response_id", "store", "request", "input_items", "output_items", "response",
        "call_id", "task_id", "error", "created_at_ms", "updated_at_ms", "expires_at_ms",
    ]
    static let list = names.joined(separator: ", ")

    /// How each column is stored, in ``names`` order.
    static let kinds: [CallColumns.Kind] = names.map { $0.hasSuffix("_ms") || $0 == "store" ? .int : .text }

    /// The most responses ``ResponseStore/responseChain(_:limit:)`` returns, whatever `limit` says.
    static let maxChain = 10_000

    /// `CREATE TABLE` and its indexes (migration `015_responses`), with `integer` as the integer type.
    static func createSQL(integer: String, primaryKey: String) -> [String] {
        [
            """
            CREATE TABLE responses (
                id TEXT \(primaryKey),
                scope TEXT NOT NULL, status TEXT NOT NULL, model TEXT NOT NULL, previous_response_id TEXT,
                store \(integer) NOT NULL, request TEXT, input_items TEXT, output_items TEXT, response TEXT,
                call_id TEXT, task_id TEXT, error TEXT,
                created_at_ms \(integer) NOT NULL, updated_at_ms \(integer) NOT NULL, expires_at_ms \(integer)
            )
            """,
            "CREATE INDEX responses_scope_created ON responses (scope, created_at_ms)",
            "CREATE INDEX responses_expires ON responses (expires_at_ms)",
        ]
    }

    /// The response with id `p(1)` and its ancestors, at most `p(2)` of them, oldest first.
    static func chain(_ p: (Int) -> String) -> String {
        """
        WITH RECURSIVE chain(id, prev, depth) AS (
            SELECT id, previous_response_id, 1 FROM responses WHERE id = \(p(1))
            UNION ALL
            SELECT r.id, r.previous_response_id, c.depth + 1 FROM responses r JOIN chain c ON r.id = c.prev
            WHERE c.depth < \(p(2))
        )
        SELECT \(names.map { "r.\($0)" }.joined(separator: ", ")) FROM chain c JOIN responses r ON r.id = c.id
        ORDER BY c.depth DESC
        """
    }

    /// The compare-and-set of a status: values `status`, `error`, `updated_at_ms`, `id`, then the `from` statuses.
    static func updateStatus(from count: Int, _ p: (Int) -> String) -> String {
        """
        UPDATE responses SET status = \(p(1)), error = \(p(2)), updated_at_ms = \(p(3))
        WHERE id = \(p(4)) AND status IN (\((0..<count).map { p(5 + $0) }.joined(separator: ", ")))
        RETURNING \(list)
        """
    }

    /// Deletes the responses that expired before `p(1)`.
    static func deleteExpired(_ p: (Int) -> String) -> String {
        "DELETE FROM responses WHERE expires_at_ms IS NOT NULL AND expires_at_ms < \(p(1))"
    }

    /// `limit` clamped to 0…``maxChain``.
    static func chainLimit(_ limit: Int) -> Int64 { Int64(max(0, min(limit, maxChain))) }
}

extension StoredResponse {
    /// The response as cells in ``ResponseColumns/names`` order, with `request`, `input_items`,
    /// `output_items` and `response` sealed by `cipher` when there is one.
    func cells(sealedBy cipher: BodyCipher?) -> [Cell] {
        func t(_ s: String?) -> Cell { s.map(Cell.text) ?? .null }
        func sealed(_ s: String?) -> Cell { t(BodyCipher.seal(s, with: cipher)) }
        return [
            .text(id), .text(scope), .text(status.rawValue), .text(model), t(previousResponseID), .int(store ? 1 : 0),
            sealed(request), sealed(inputItems), sealed(outputItems), sealed(response), t(callID), t(taskID), t(error),
            .int(createdAt.millis), .int(updatedAt.millis), expiresAt.map { .int($0.millis) } ?? .null,
        ]
    }

    /// Rebuilds a response from cells in ``ResponseColumns/names`` order, opening the sealed
    /// columns with `cipher` (see ``BodyCipher/open(_:with:)``); `nil` for an unknown status.
    init?(cells c: [Cell], cipher: BodyCipher?) {
        guard c.count == ResponseColumns.names.count, let id = c[0].text, let status = c[2].text.flatMap(Status.init(rawValue:))
        else { return nil }
        self.init(
            id: id, scope: c[1].text ?? "", status: status, model: c[3].text ?? "", previousResponseID: c[4].text,
            store: (c[5].int ?? 1) != 0, request: BodyCipher.open(c[6].text, with: cipher),
            inputItems: BodyCipher.open(c[7].text, with: cipher), outputItems: BodyCipher.open(c[8].text, with: cipher),
            response: BodyCipher.open(c[9].text, with: cipher), callID: c[10].text, taskID: c[11].text, error: c[12].text,
            createdAt: Date(millis: c[13].int ?? 0), updatedAt: Date(millis: c[14].int ?? 0), expiresAt: c[15].int.map(Date.init(millis:)))
    }
}
