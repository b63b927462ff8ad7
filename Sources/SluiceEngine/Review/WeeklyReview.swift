import Foundation
import SluiceCore
import SluiceStore

/// The weekly review (`GET /admin/review`, `sluice review`, the dashboard's `/review`, and
/// `review: {every, webhook}`): for a period ending now (default the last 7 days), per purpose,
/// this period against the previous one of equal length and the 30-day average (spend, tokens,
/// calls, latency percentiles, error rate), eval scores and drift flags, the top error patterns,
/// the outputs users flagged, the shadows running, and the operator events of the audit log.
///
/// Not to be confused with the human review queue (`/admin/reviews`). Every figure carries
/// `links`: the dashboard page or admin API path it came from. The JSON is the canonical form;
/// ``markdown`` and ``html`` render it, so a client holding the JSON renders the same text.
public struct WeeklyReview: Sendable {
    /// The review as JSON.
    public let json: JSON

    /// A review from its JSON (as `GET /admin/review` returns it).
    public init(json: JSON) { self.json = json }

    /// The most failed calls and feedback items read per window.
    static let readLimit = 20_000
    /// Error patterns, flagged outputs and events listed at most.
    static let listLimit = 20

    /// The formats a review renders to.
    public enum Format: String, Sendable, CaseIterable {
        case json, md, html
    }

    /// Assembles the review of `[now - since, now)` from the store.
    /// - Parameters:
    ///   - config: the live config: purposes with a shadow, whether outputs are stored.
    ///   - since: the period's length in seconds; the previous period has the same length.
    public static func build(store: any SluiceStore, config: SluiceConfig, now: Date, since: TimeInterval) async throws -> WeeklyReview {
        let from = now.addingTimeInterval(-since)
        let previousFrom = from.addingTimeInterval(-since)
        let monthFrom = now.addingTimeInterval(-30 * 86_400)
        var out: JSONObject = [
            "object": "weekly_review",
            "generated_at": .string(Timestamp.iso8601(now)),
            "since_s": .int(Int(since)),
            "window": ["from": .string(Timestamp.iso8601(from)), "to": .string(Timestamp.iso8601(now))],
            "previous_window": ["from": .string(Timestamp.iso8601(previousFrom)), "to": .string(Timestamp.iso8601(from))],
            "avg_30d_window": [
                "from": .string(Timestamp.iso8601(monthFrom)), "to": .string(Timestamp.iso8601(now)),
                "note": "the 30 days ending now, scaled to the period's length (latency percentiles and rates unscaled)",
            ],
        ]
        let spend = try await Spend.build(store: store, now: now, from: from, previousFrom: previousFrom, monthFrom: monthFrom, since: since)
        out["totals"] = spend.totals
        out["biggest_movers"] = spend.movers
        var purposes = spend.purposes
        for i in purposes.indices {
            guard var p = purposes[i].objectValue, let name = p["purpose"]?.stringValue, ShadowNames.basePurpose(of: name) == nil else { continue }
            p["quality"] = try await quality(store: store, purpose: name, now: now, since: since)
            purposes[i] = .object(p)
        }
        out["purposes"] = .array(purposes)
        let failed = try await store.failedCalls(from: from, to: now, limit: readLimit)
        let before = try await store.failedCalls(from: monthFrom.addingTimeInterval(-since), to: from, limit: readLimit)
        out["error_patterns"] = ErrorPatterns.json(current: failed, before: before, limit: listLimit)
        out["budget_trips"] = ErrorPatterns.budgetTrips(failed)
        out["flagged_outputs"] = try await flagged(store: store, from: from, to: now)
        out["shadows"] = try await shadows(store: store, config: config, from: from, to: now)
        out["events"] = try await Events.json(store: store, from: from, to: now, limit: listLimit)
        out["links"] = [
            "spend": "/admin/cost-summary", "dashboard": "/", "latency": "/latency", "quality": "/quality", "shadows": "/shadows",
            "calls": "/calls", "audit": "/admin/audit", "self": .string("/admin/review?since=\(sinceText(since))"),
        ]
        return WeeklyReview(json: .object(out))
    }

    /// `7d`, `36h`, `90m` or seconds: how a period is written back into a link.
    static func sinceText(_ s: TimeInterval) -> String {
        let n = Int(s)
        if n % 86_400 == 0 { return "\(n / 86_400)d" }
        if n % 3_600 == 0 { return "\(n / 3_600)h" }
        if n % 60 == 0 { return "\(n / 60)m" }
        return "\(n)s"
    }

    /// Drift flags (the drift report over the period against the 30 days before it) and eval scores.
    static func quality(store: any SluiceStore, purpose: String, now: Date, since: TimeInterval) async throws -> JSON {
        let drift = try await DriftReport.build(purpose: purpose, store: store, now: now, window: since, baseline: 30 * 86_400)
        let scores = try await store.evalScores(purpose: purpose, limit: 20)
        let from = now.addingTimeInterval(-since)
        let latest = scores.first
        let earlier = scores.first { $0.at < from && $0.suite == latest?.suite }
        let q = ReviewText.q(purpose)
        return [
            "drift_flags": .array(drift.shifts.filter(\.significant).map { .string($0.note) }),
            "calls_compared": ["current": .int(drift.current.calls), "baseline": .int(drift.baseline.calls)],
            "eval": latest.map { s -> JSON in
                [
                    "suite": .string(s.suite), "at": .string(Timestamp.iso8601(s.at)), "pass_rate": .double(s.passRate),
                    "previous_pass_rate": earlier.map { .double($0.passRate) } ?? .null,
                    "judge_mean": s.judgeMean.map(JSON.double) ?? .null, "in_period": .bool(s.at >= from),
                ]
            } ?? .null,
            "links": ["drift": .string("/admin/drift/\(q)?window=\(sinceText(since))&baseline=30d"), "evals": "/quality"],
        ]
    }

    /// Negative feedback in the period, most negative first, each with the call's drill-down.
    static func flagged(store: any SluiceStore, from: Date, to: Date) async throws -> JSON {
        let items = try await store.negativeFeedback(from: from, to: to, limit: listLimit)
        return .array(items.map { f in
            [
                "feedback_id": .string(f.id), "call_id": f.callID.map(JSON.string) ?? .null, "task_id": f.taskID.map(JSON.string) ?? .null,
                "purpose": f.purpose.map(JSON.string) ?? .null, "score": .double(f.score), "label": f.label.map(JSON.string) ?? .null,
                "comment": f.comment.map(JSON.string) ?? .null, "at": .string(Timestamp.iso8601(f.createdAt)),
                "links": ["call": f.callID.map { .string("/calls/\(ReviewText.q($0))") } ?? .null,
                          "api": f.callID.map { .string("/admin/calls/\(ReviewText.q($0))") } ?? .null],
            ]
        })
    }

    /// Every purpose with a shadow configured or shadow runs in the period, with its agreement.
    static func shadows(store: any SluiceStore, config: SluiceConfig, from: Date, to: Date) async throws -> JSON {
        var out: [JSON] = []
        for name in config.purposes.keys.sorted() {
            let shadow = config.purposes[name]?.shadow
            let r = try await ShadowReport.build(
                store: store, purpose: name, since: from, until: to, shadow: shadow, counters: nil,
                outputsStored: config.storage.logBodies == .full, limit: 3)
            let pairs = r["pairs"]?.intValue ?? 0
            guard shadow != nil || pairs > 0 else { continue }
            out.append([
                "purpose": .string(name), "shadow_purpose": r["shadow_purpose"] ?? .null, "configured": .bool(shadow != nil),
                "pairs": .int(pairs), "agreement_rate": r["agreement"]?["rate"] ?? .null, "compared": r["agreement"]?["compared"] ?? .null,
                "note": r["agreement"]?["note"] ?? .null,
                "links": ["report": .string("/admin/shadow/\(ReviewText.q(name))"), "dashboard": "/shadows"],
            ])
        }
        return .array(out)
    }
}
