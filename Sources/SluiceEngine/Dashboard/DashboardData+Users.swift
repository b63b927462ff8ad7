import Foundation
import SluiceCore
import SluiceStore

extension DashboardData {
    /// The windows the users page shows: label and length.
    static let userWindows: [(String, TimeInterval)] = [("24h", 86_400), ("7d", 7 * 86_400)]
    /// Users listed per table on the users page.
    public static let usersShown = 10

    /// The users page: per window (the last 24 h and 7 d), the end users who spent the most and
    /// those with the slowest p95 latency, each with spend, calls and p50/p95/p99, exactly as
    /// `GET /admin/cost-summary?by=user&sort=cost|p95` has them (calls without a user left out).
    public static func users(store: any SluiceStore, now: Date) async throws -> JSON {
        let to = now.addingTimeInterval(1)
        var windows: [JSON] = []
        for (label, seconds) in userWindows {
            let from = now.addingTimeInterval(-seconds)
            let rows = try await CostSummary.groupRows(store: store, by: .user, from: from, to: to, namedOnly: true)
            let spenders = CostSummary.shape(rows, by: .user, sort: .cost, limit: usersShown)
            let slowest = CostSummary.shape(rows, by: .user, sort: .p95, limit: usersShown)
            windows.append([
                "window": .string(label), "since": .string(Timestamp.iso8601(from)), "users": .int(spenders.total),
                "top_spenders": .array(spenders.groups), "slowest": .array(slowest.groups),
            ])
        }
        var out = header("users", now: now)
        out["windows"] = .array(windows)
        return .object(out)
    }
}
