import Foundation
import SluiceCore
import SluiceStore

/// `GET /admin/shadow/{purpose}` and `sluice shadow report PURPOSE`: the
/// purpose's shadow runs beside the live calls they shadowed, over a window.
///
/// For the pairs: how often the two answers agree (trimmed text; for JSON
/// objects, whole objects and each top-level field), each side's schema-valid
/// rate, mean input/output tokens, latency p50/p95, cost per call, errors, and —
/// through feedback on the live call — how often each side's output agreed with
/// what the user did in the end (`action`). Disagreements are listed, newest first,
/// to spot-check.
public enum ShadowReport {
    /// The most pairs one report reads (the newest); `truncated` says when there were more.
    public static let maxPairs = 10_000

    /// Reads the window's pairs and feedback from `store` and builds the report.
    /// - Parameters:
    ///   - purpose: the live purpose (`triage`; its shadow runs are `triage:shadow`).
    ///   - shadow: the shadow setting in force, shown as `config`.
    ///   - counters: this node's sampling counters, shown as `this_node`.
    ///   - outputsStored: whether `storage.log_bodies` keeps outputs (`full`); otherwise nothing can be compared.
    ///   - limit: disagreements listed at most.
    public static func build(
        store: any SluiceStore, purpose: String, since: Date, until: Date, shadow: SluiceConfig.Shadow?, counters: ShadowCounters?,
        outputsStored: Bool, limit: Int = 20
    ) async throws -> JSON {
        let all = try await store.shadowPairs(purpose: ShadowNames.purpose(of: purpose), since: since, limit: maxPairs + 1)
        let pairs = Array(all.filter { $0.shadow.createdAt < until }.prefix(maxPairs))
        let feedback = try await store.feedback(callIDs: pairs.map(\.primary.callID))
        var out: JSONObject = [
            "object": "shadow_report", "purpose": .string(purpose), "shadow_purpose": .string(ShadowNames.purpose(of: purpose)),
            "since": .string(Timestamp.iso8601(since)), "until": .string(Timestamp.iso8601(until)),
            "config": shadow?.json ?? .null, "truncated": .bool(all.count > maxPairs),
        ]
        for (k, v) in compute(pairs: pairs, feedback: feedback, outputsStored: outputsStored, limit: limit) { out[k] = v }
        out["this_node"] = counters?.json ?? .null
        return .object(out)
    }

    /// The report's figures for `pairs` (newest first) and the feedback on their live calls.
    static func compute(pairs: [ShadowPair], feedback: [Feedback], outputsStored: Bool, limit: Int) -> JSONObject {
        // The latest feedback with an action, per live call.
        var actions: [String: String] = [:]
        var scores: [String: Double] = [:]
        for f in feedback.sorted(by: { $0.id < $1.id }) {
            guard let call = f.callID else { continue }
            scores[call] = f.score
            if let a = f.action, !ShadowComparison.trimmed(a).isEmpty { actions[call] = a }
        }
        var compared = 0, exact = 0, agreeing = 0, jsonPairs = 0, jsonWhole = 0
        var fieldAgree: [String: Int] = [:]
        var disagreements: [JSON] = []
        var pAgreed = 0, sAgreed = 0, withAction = 0
        for pair in pairs {
            let action = actions[pair.primary.callID]
            if let action {
                withAction += 1
                if let o = pair.primary.output, ShadowComparison.agrees(o, action: action) { pAgreed += 1 }
                if let o = pair.shadow.output, ShadowComparison.agrees(o, action: action) { sAgreed += 1 }
            }
            guard outputsStored, let a = pair.primary.output, let b = pair.shadow.output else { continue }
            compared += 1
            let textSame = ShadowComparison.trimmed(a) == ShadowComparison.trimmed(b)
            if textSame { exact += 1 }
            var same = textSame
            var differing: [String] = []
            if let x = ShadowComparison.object(a), let y = ShadowComparison.object(b) {
                jsonPairs += 1
                var keys = x.keys
                for k in y.keys where x[k] == nil { keys.append(k) }
                for k in keys {
                    let match = x[k].flatMap { v in y[k].map { ShadowComparison.same(v, $0) } } ?? false
                    fieldAgree[k, default: 0] += match ? 1 : 0
                    if !match { differing.append(k) }
                }
                same = differing.isEmpty
                if same { jsonWhole += 1 }
            }
            if same {
                agreeing += 1
            } else if disagreements.count < limit {
                disagreements.append([
                    "primary_call_id": .string(pair.primary.callID), "shadow_call_id": .string(pair.shadow.callID),
                    "created_at": .string(Timestamp.iso8601(pair.primary.createdAt)),
                    "primary_output": ShadowComparison.clip(a), "shadow_output": ShadowComparison.clip(b),
                    "differing_fields": differing.isEmpty ? .null : .array(differing.map(JSON.string)),
                    "feedback_action": action.map(JSON.string) ?? .null,
                ])
            }
        }
        func rate(_ n: Int, _ d: Int) -> JSON { d == 0 ? .null : ShadowComparison.number(Double(n) / Double(d)) }
        var fields = JSONObject()
        for k in fieldAgree.keys.sorted() { fields[k] = rate(fieldAgree[k] ?? 0, jsonPairs) }
        let agreement: JSON = [
            "compared": .int(compared), "rate": rate(agreeing, compared), "exact_rate": rate(exact, compared),
            "json": jsonPairs == 0 ? JSON.null : ["pairs": .int(jsonPairs), "whole_rate": rate(jsonWhole, jsonPairs), "fields": .object(fields)],
            "note": outputsStored ? .null : "outputs are not stored (storage.log_bodies is not full), so answers cannot be compared",
        ]
        let scored = pairs.compactMap { scores[$0.primary.callID] }
        return [
            "pairs": .int(pairs.count), "agreement": agreement,
            "primary": side(pairs.map(\.primary), agreed: pAgreed, withAction: withAction),
            "shadow": side(pairs.map(\.shadow), agreed: sAgreed, withAction: withAction),
            "feedback": [
                "pairs_with_feedback": .int(scored.count),
                "mean_score": scored.isEmpty ? .null : ShadowComparison.number(scored.reduce(0, +) / Double(scored.count)),
                "pairs_with_action": .int(withAction),
            ],
            "disagreements": .array(disagreements),
        ]
    }

    /// One side's figures over its calls.
    static func side(_ calls: [CallRecord], agreed: Int, withAction: Int) -> JSON {
        let n = Double(max(calls.count, 1))
        let checked = calls.compactMap(\.schemaValid)
        let priced = calls.compactMap(\.costUSD)
        let latencies = calls.map(\.latencyMs)
        return [
            "calls": .int(calls.count), "ok": .int(calls.filter { $0.status == .ok }.count),
            "errors": .int(calls.filter { $0.status != .ok }.count),
            "schema_checked": .int(checked.count),
            "schema_valid_rate": checked.isEmpty ? .null : ShadowComparison.number(Double(checked.filter { $0 }.count) / Double(checked.count)),
            "mean_input_tokens": calls.isEmpty ? .null : ShadowComparison.number(Double(calls.reduce(0) { $0 + $1.usage.inputTokens }) / n, places: 3),
            "mean_output_tokens": calls.isEmpty ? .null : ShadowComparison.number(Double(calls.reduce(0) { $0 + $1.usage.outputTokens }) / n, places: 3),
            "latency_ms": [
                "p50": ShadowComparison.number(ShadowComparison.percentile(latencies, 0.5), places: 3),
                "p95": ShadowComparison.number(ShadowComparison.percentile(latencies, 0.95), places: 3),
            ],
            "cost_usd": ShadowComparison.number(priced.reduce(0, +), places: 9),
            "cost_per_call_usd": priced.isEmpty ? .null : ShadowComparison.number(priced.reduce(0, +) / Double(priced.count), places: 9),
            "models": .array(Array(Set(calls.map { $0.answeredModel ?? $0.model })).sorted().map(JSON.string)),
            "prompt_versions": .array(Array(Set(calls.compactMap(\.promptVersion))).sorted().map(JSON.string)),
            "feedback_agreement": [
                "with_action": .int(withAction), "agreed": .int(agreed),
                "rate": withAction == 0 ? .null : ShadowComparison.number(Double(agreed) / Double(withAction)),
            ],
        ]
    }
}
