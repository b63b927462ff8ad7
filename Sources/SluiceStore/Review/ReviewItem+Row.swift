import Foundation

/// The column order shared by both backends' review statements.
enum ReviewColumns {
    static let names = [
        "id", "call_id", "task_id", "purpose", "reason", "status", "output", "edited_output", "created_at_ms",
        "decided_at_ms", "decided_by", "note",
    ]
    static let list = names.joined(separator: ", ")

    /// How each column is stored, in ``names`` order.
    static let kinds: [CallColumns.Kind] = names.map { $0.hasSuffix("_ms") ? .int : .text }
}

extension ReviewItem {
    /// The item as cells in ``ReviewColumns/names`` order, with `output`, `edited_output` and `note`
    /// sealed by `cipher` when there is one.
    func cells(sealedBy cipher: BodyCipher?) -> [Cell] {
        func t(_ s: String?) -> Cell { s.map(Cell.text) ?? .null }
        func sealed(_ s: String?) -> Cell { t(BodyCipher.seal(s, with: cipher)) }
        return [
            .text(id), .text(callID), t(taskID), .text(purpose), .text(reason), .text(status.rawValue), sealed(output),
            sealed(editedOutput), .int(createdAt.millis), decidedAt.map { .int($0.millis) } ?? .null, t(decidedBy), sealed(note),
        ]
    }

    /// Rebuilds an item from cells in ``ReviewColumns/names`` order, opening `output`, `edited_output`
    /// and `note` with `cipher` (see ``BodyCipher/open(_:with:)``); `nil` for an unknown status.
    init?(cells c: [Cell], cipher: BodyCipher?) {
        guard c.count == ReviewColumns.names.count, let status = c[5].text.flatMap(Status.init(rawValue:)) else {
            return nil
        }
        self.init(
            id: c[0].text ?? "", callID: c[1].text ?? "", taskID: c[2].text, purpose: c[3].text ?? "",
            reason: c[4].text ?? "", status: status, output: BodyCipher.open(c[6].text, with: cipher) ?? "",
            editedOutput: BodyCipher.open(c[7].text, with: cipher), createdAt: Date(millis: c[8].int ?? 0),
            decidedAt: c[9].int.map(Date.init(millis:)), decidedBy: c[10].text, note: BodyCipher.open(c[11].text, with: cipher))
    }
}

extension ReviewDecision {
    /// The values a decision sets: `status`, `edited_output`, `decided_at_ms`, `decided_by`, `note`;
    /// `edited_output` and `note` sealed by `cipher` when there is one.
    func cells(sealedBy cipher: BodyCipher?) -> [Cell] {
        [
            .text(status.rawValue), BodyCipher.seal(editedOutput, with: cipher).map(Cell.text) ?? .null, .int(at.millis),
            .text(actor), BodyCipher.seal(note, with: cipher).map(Cell.text) ?? .null,
        ]
    }
}

/// A page of reviews: the filters as `column = value` clauses, newest first by id.
struct ReviewQuery {
    /// Clauses as (`column`, operator, value), joined with `AND`.
    var clauses: [(column: String, op: String, value: Cell)] = []
    /// Rows at most, clamped to 0…1000.
    var limit: Int64

    init(status: ReviewItem.Status?, purpose: String?, limit: Int, before: String?) {
        if let status { clauses.append(("status", "=", .text(status.rawValue))) }
        if let purpose { clauses.append(("purpose", "=", .text(purpose))) }
        if let before { clauses.append(("id", "<", .text(before))) }
        self.limit = Int64(max(0, min(limit, 1000)))
    }

    /// The statement, with each value written by `placeholder(n)` (1-based).
    func sql(_ placeholder: (Int) -> String) -> String {
        var sql = "SELECT \(ReviewColumns.list) FROM reviews"
        if !clauses.isEmpty {
            sql += " WHERE " + clauses.enumerated().map { "\($1.column) \($1.op) \(placeholder($0 + 1))" }
                .joined(separator: " AND ")
        }
        return sql + " ORDER BY id DESC LIMIT \(placeholder(clauses.count + 1))"
    }

    /// The values in placeholder order, the limit last.
    var values: [Cell] { clauses.map(\.value) + [.int(limit)] }
}
