import Foundation
import SluiceCore
import SluiceStore

extension DashboardData {
    /// The quality page: schema-valid rate per purpose per day (rollups), the
    /// latest eval scores, the daily mean feedback score, and each purpose's
    /// drift flags over `window` against `baseline` (the same report as
    /// `GET /admin/drift/{purpose}?window=…&baseline=…`).
    public static func quality(
        store: any SluiceStore, config: SluiceConfig, now: Date, window: TimeInterval = 86_400, baseline: TimeInterval = 7 * 86_400
    ) async throws -> JSON {
        let daily = try await daily(store, now: now)
        let names = Set(daily.purposes.filter { ShadowNames.basePurpose(of: $0) == nil }).union(config.purposes.keys).sorted()
        let firstDay = Windows.startOfDay(now).addingTimeInterval(-Double(days - 1) * 86_400)
        var purposes: [JSON] = []
        for name in names {
            let t = daily.total(name)
            let evals = try await store.evalScores(purpose: name, limit: 10)
            var feedback: [Double?] = []
            for i in 0..<days {
                let from = firstDay.addingTimeInterval(Double(i) * 86_400)
                let scores = try await store.feedbackScores(purpose: name, from: from, to: from.addingTimeInterval(86_400))
                feedback.append(scores.isEmpty ? nil : scores.reduce(0, +) / Double(scores.count))
            }
            let drift = try await DriftReport.build(purpose: name, store: store, now: now, window: window, baseline: baseline)
            purposes.append([
                "purpose": .string(name), "schema_checked_30d": .int(t.schemaChecked),
                "schema_valid_rate_30d": DashNumber.json(t.schemaValidRate, 4),
                "schema_valid_rate_by_day": DashNumber.array(daily.values(name) { $0.schemaValidRate }, 4),
                "refusal_rate_30d": DashNumber.json(t.rate(t.refusals), 4),
                "feedback_by_day": DashNumber.array(feedback, 4),
                "evals": .array(evals.map { e in
                    [
                        "suite": .string(e.suite), "at": .string(Timestamp.iso8601(e.at)), "pass_rate": DashNumber.json(e.passRate, 4),
                        "judge_mean": DashNumber.json(e.judgeMean, 4), "model": .string(e.answeredModel ?? e.model),
                        "prompt_version": e.promptVersion.map(JSON.string) ?? .null, "cases": .int(e.cases),
                    ]
                }),
                "drift_flags": drift.json["flagged"] ?? .array([]),
                "new_models": drift.json["new_models"] ?? .array([]),
            ])
        }
        var out = header("quality", now: now)
        out["days"] = .array(daily.slots.map(JSON.string))
        out["drift_window_s"] = .int(Int(window))
        out["drift_baseline_s"] = .int(Int(baseline))
        out["purposes"] = .array(purposes)
        return .object(out)
    }

    /// The shadows page: the shadow report of every purpose that has a shadow
    /// configured or shadow calls in the window (as `GET /admin/shadow/{purpose}?since=7d`).
    public static func shadows(
        store: any SluiceStore, config: SluiceConfig, counters: [String: ShadowCounters], now: Date, since: TimeInterval = 7 * 86_400
    ) async throws -> JSON {
        var reports: [JSON] = []
        for name in config.purposes.keys.sorted() {
            let shadow = config.purposes[name]?.shadow
            let report = try await ShadowReport.build(
                store: store, purpose: name, since: now.addingTimeInterval(-since), until: now.addingTimeInterval(1),
                shadow: shadow, counters: counters[name], outputsStored: config.storage.logBodies == .full, limit: 10)
            guard shadow != nil || (report["pairs"]?.intValue ?? 0) > 0 else { continue }
            reports.append(report)
        }
        var out = header("shadows", now: now)
        out["since_s"] = .int(Int(since))
        out["reports"] = .array(reports)
        return .object(out)
    }
}
