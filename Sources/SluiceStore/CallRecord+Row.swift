import Foundation
import SluiceCore

/// The column order shared by both backends' insert statements.
enum CallColumns {
    static let names = [
        "call_id", "created_at_ms", "run_id", "purpose", "user", "key_name", "prompt_name", "prompt_version",
        "variant", "model", "provider", "answered_model", "status", "error", "http_status", "attempts", "cache",
        "stream", "input_tokens", "output_tokens", "cached_tokens", "cache_write_tokens", "cost_usd", "saved_usd",
        "latency_ms", "ttft_ms", "overhead_ms", "schema_valid", "refusal", "params", "input_hash",
        "request_body", "output", "cache_similarity", "repairs", "guard_flags", "batch_id",
        "shadow_of", "surface", "tool_calls", "output_sentiment", "input_chars", "input_script", "guard_verdicts",
    ]

    /// How each column is stored, in ``names`` order.
    enum Kind { case text, int, double }
    static let kinds: [Kind] = names.map { name in
        switch name {
        case "created_at_ms", "http_status", "stream", "input_tokens", "output_tokens", "cached_tokens",
            "cache_write_tokens", "schema_valid", "refusal", "repairs", "input_chars":
            return .int
        case "cost_usd", "saved_usd", "latency_ms", "ttft_ms", "overhead_ms", "cache_similarity", "output_sentiment": return .double
        default: return .text
        }
    }
}

/// A backend-neutral cell value.
public enum Cell: Sendable, Equatable {
    case null, int(Int64), double(Double), text(String)

    var int: Int64? { if case .int(let v) = self { return v }; if case .double(let d) = self { return Int64(d) }; return nil }
    var double: Double? { if case .double(let v) = self { return v }; if case .int(let i) = self { return Double(i) }; return nil }
    var text: String? { if case .text(let v) = self { return v }; return nil }
}

extension CallRecord {
    /// The record as cells in ``CallColumns/names`` order, with `request_body`, `output` and
    /// `tool_calls` sealed by `cipher` when there is one.
    func cells(sealedBy cipher: BodyCipher?) -> [Cell] {
        func t(_ s: String?) -> Cell { s.map(Cell.text) ?? .null }
        func b(_ v: Bool?) -> Cell { v.map { .int($0 ? 1 : 0) } ?? .null }
        func d(_ v: Double?) -> Cell { v.map(Cell.double) ?? .null }
        return [
            .text(callID), .int(createdAtMillis), t(runID), .text(purpose),
            t(user), t(keyName), t(promptName), t(promptVersion), t(variant), .text(model), t(provider),
            t(answeredModel), .text(status.rawValue), t(error), .int(Int64(httpStatus)),
            .text(JSON.array(attempts.map(\.json)).jsonString), .text(cache), .int(stream ? 1 : 0),
            .int(Int64(usage.inputTokens)), .int(Int64(usage.outputTokens)), .int(Int64(usage.cachedTokens)),
            .int(Int64(usage.cacheWriteTokens)), d(costUSD), .double(savedUSD), .double(latencyMs), d(ttftMs),
            d(overheadMs), b(schemaValid), b(refusal), .text(JSON.object(params).jsonString), .text(inputHash),
            t(BodyCipher.seal(requestBody, with: cipher)), t(BodyCipher.seal(output, with: cipher)), d(cacheSimilarity), .int(Int64(repairs)),
            guardFlags.isEmpty ? .null : .text(JSON.array(guardFlags.map(JSON.string)).jsonString), t(batchID),
            t(shadowOf), .text(surface), t(BodyCipher.seal(ToolCall.encode(toolCalls), with: cipher)), d(outputSentiment),
            inputChars.map { .int(Int64($0)) } ?? .null, t(inputScript), t(GuardVerdict.encode(guardVerdicts)),
        ]
    }

    /// `created_at_ms`: the creation time in milliseconds, rounded to the nearest.
    var createdAtMillis: Int64 { Int64((createdAt.timeIntervalSince1970 * 1000).rounded()) }

    /// Rebuilds a record from cells in ``CallColumns/names`` order; sealed bodies are opened
    /// with `cipher` (see ``BodyCipher``).
    init(cells c: [Cell], cipher: BodyCipher?) {
        func s(_ i: Int) -> String? { c[i].text }
        func b(_ i: Int) -> Bool? { c[i].int.map { $0 != 0 } }
        self.init(
            callID: s(0) ?? "", createdAt: Date(timeIntervalSince1970: Double(c[1].int ?? 0) / 1000),
            purpose: s(3) ?? "default", model: s(9) ?? "",
            status: Status(rawValue: s(12) ?? "error") ?? .error, httpStatus: Int(c[14].int ?? 0),
            inputHash: s(30) ?? "")
        runID = s(2)
        user = s(4)
        keyName = s(5)
        promptName = s(6)
        promptVersion = s(7)
        variant = s(8)
        provider = s(10)
        answeredModel = s(11)
        error = s(13)
        attempts = (try? JSON.parse(s(15) ?? "[]"))?.arrayValue?.compactMap(Attempt.init(json:)) ?? []
        cache = s(16) ?? "bypass"
        stream = b(17) ?? false
        usage = Usage(
            inputTokens: Int(c[18].int ?? 0), outputTokens: Int(c[19].int ?? 0),
            cachedTokens: Int(c[20].int ?? 0), cacheWriteTokens: Int(c[21].int ?? 0))
        costUSD = c[22].double
        savedUSD = c[23].double ?? 0
        latencyMs = c[24].double ?? 0
        ttftMs = c[25].double
        overheadMs = c[26].double
        schemaValid = b(27)
        refusal = b(28)
        params = (try? JSON.parse(s(29) ?? "{}"))?.objectValue ?? JSONObject()
        requestBody = BodyCipher.open(s(31), with: cipher)
        output = BodyCipher.open(s(32), with: cipher)
        cacheSimilarity = c[33].double
        repairs = Int(c[34].int ?? 0)
        guardFlags = s(35).flatMap { try? JSON.parse($0) }?.arrayValue?.compactMap(\.stringValue) ?? []
        batchID = c.count > 36 ? s(36) : nil
        shadowOf = c.count > 37 ? s(37) : nil
        surface = c.count > 38 ? s(38) ?? "chat" : "chat"
        if c.count > 42 {
            toolCalls = ToolCall.decode(BodyCipher.open(s(39), with: cipher))
            outputSentiment = c[40].double
            inputChars = c[41].int.map { Int($0) }
            inputScript = s(42)
        }
        if c.count > 43 { guardVerdicts = GuardVerdict.decode(s(43)) }
    }
}

extension CallColumns {
    /// Migration 023: what classifier guards said (a JSON list of ``GuardVerdict``).
    static let migration023 = "ALTER TABLE calls ADD COLUMN guard_verdicts TEXT"

    /// Migration 021: the call's tool calls (sealed like the other bodies) and the per-call
    /// values drift reads (output sentiment, input length, input script).
    static func migration021(integer: String, real: String, ifNotExists: String) -> [String] {
        [
            "ALTER TABLE calls ADD COLUMN \(ifNotExists)tool_calls TEXT",
            "ALTER TABLE calls ADD COLUMN \(ifNotExists)output_sentiment \(real)",
            "ALTER TABLE calls ADD COLUMN \(ifNotExists)input_chars \(integer)",
            "ALTER TABLE calls ADD COLUMN \(ifNotExists)input_script TEXT",
        ]
    }
}
