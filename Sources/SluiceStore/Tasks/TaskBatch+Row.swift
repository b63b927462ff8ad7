import Foundation
import SluiceCore

/// The column order shared by both backends' batch statements.
enum BatchColumns {
    static let names = [
        "id", "purpose", "provider", "model", "upstream_id", "status", "task_ids", "items", "created_at_ms", "updated_at_ms",
        "error",
    ]
    static let list = names.joined(separator: ", ")

    /// How each column is stored, in ``names`` order.
    static let kinds: [CallColumns.Kind] = names.map { $0.hasSuffix("_ms") ? .int : .text }

    /// The open statuses, as an SQL list.
    static let open = "('submitting', 'submitted')"
}

extension TaskBatch.Item {
    /// The item as stored in the `items` array, its `body` sealed by `cipher` when there is one.
    func json(sealedBy cipher: BodyCipher?) -> JSON {
        var o: JSONObject = [
            "task_id": .string(taskID), "attempt": .int(attempt), "call_id": .string(callID),
            "body": .string(cipher.map { $0.seal(body) } ?? body),
        ]
        if let promptName { o["prompt_name"] = .string(promptName) }
        if let promptVersion { o["prompt_version"] = .string(promptVersion) }
        return .object(o)
    }

    /// An item read back from the `items` array, its `body` opened with `cipher` (see
    /// ``BodyCipher/open(_:with:)``); `nil` when a required member is missing.
    init?(json: JSON, cipher: BodyCipher?) {
        guard let task = json["task_id"]?.stringValue, let attempt = json["attempt"]?.intValue,
            let call = json["call_id"]?.stringValue, let body = BodyCipher.open(json["body"]?.stringValue, with: cipher)
        else { return nil }
        self.init(
            taskID: task, attempt: attempt, callID: call, body: body, promptName: json["prompt_name"]?.stringValue,
            promptVersion: json["prompt_version"]?.stringValue)
    }
}

extension TaskBatch {
    /// The batch as cells in ``BatchColumns/names`` order, the items' bodies sealed by `cipher`.
    func cells(sealedBy cipher: BodyCipher?) -> [Cell] {
        func t(_ s: String?) -> Cell { s.map(Cell.text) ?? .null }
        return [
            .text(id), .text(purpose), .text(provider), .text(model), t(upstreamID), .text(status.rawValue),
            .text(JSON.array(taskIDs.map(JSON.string)).jsonString), .text(JSON.array(items.map { $0.json(sealedBy: cipher) }).jsonString),
            .int(createdAt.millis), .int(updatedAt.millis), t(error),
        ]
    }

    /// Rebuilds a batch from cells in ``BatchColumns/names`` order, the items' bodies opened with
    /// `cipher`; `nil` for an unknown status.
    init?(cells c: [Cell], cipher: BodyCipher?) {
        guard c.count == BatchColumns.names.count, let status = c[5].text.flatMap(Status.init(rawValue:)) else { return nil }
        let items = (try? JSON.parse(c[7].text ?? "[]"))?.arrayValue?.compactMap { Item(json: $0, cipher: cipher) } ?? []
        self.init(
            id: c[0].text ?? "", purpose: c[1].text ?? "", provider: c[2].text ?? "", model: c[3].text ?? "", items: items,
            createdAt: Date(millis: c[8].int ?? 0))
        upstreamID = c[4].text
        self.status = status
        updatedAt = Date(millis: c[9].int ?? 0)
        error = c[10].text
    }
}

extension TaskClaimFilter {
    /// The `AND purpose …` clause for a claim, with each purpose written by `placeholder(n)` (0-based),
    /// and the purposes to bind; `nil` when the filter lets nothing through.
    func clause(_ placeholder: (Int) -> String) -> (sql: String, values: [Cell])? {
        switch self {
        case .all: return ("", [])
        case .only(let names):
            if names.isEmpty { return nil }
            return (" AND purpose IN (" + names.indices.map(placeholder).joined(separator: ", ") + ")", names.map(Cell.text))
        case .except(let names):
            if names.isEmpty { return ("", []) }
            return (" AND purpose NOT IN (" + names.indices.map(placeholder).joined(separator: ", ") + ")", names.map(Cell.text))
        }
    }
}
