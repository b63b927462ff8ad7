import Foundation
import SluiceCore
import SluiceStore

/// The numbers behind each dashboard page, as JSON. The HTML pages render
/// exactly this JSON, and `GET /admin/dashboard/{page}` returns it, so what a
/// person sees and what a script reads cannot disagree.
public enum DashboardData {
    /// The pages, in navigation order.
    public static let pages = ["overview", "latency", "cache", "quality", "shadows", "tasks", "calls", "users", "keys"]

    /// Days shown by the daily charts.
    public static let days = 30
    /// Hours shown by the hourly charts.
    public static let hours = 48

    /// The last `days` UTC days of rollups, ending today.
    static func daily(_ store: any RollupStore, now: Date, purpose: String? = nil) async throws -> RollupSeries {
        let today = Windows.startOfDay(now)
        let from = today.addingTimeInterval(-Double(days - 1) * 86_400)
        let rows = try await store.rollups(from: from, to: today.addingTimeInterval(86_400), purpose: purpose)
        return RollupSeries(rows, now: now, slotSeconds: 86_400, count: days)
    }

    /// The last `hours` UTC hours of rollups, ending with the current hour.
    static func hourly(_ store: any RollupStore, now: Date, purpose: String? = nil) async throws -> RollupSeries {
        let hour = (now.timeIntervalSince1970 / 3_600).rounded(.down) * 3_600
        let from = Date(timeIntervalSince1970: hour - Double(hours - 1) * 3_600)
        let rows = try await store.rollups(from: from, to: Date(timeIntervalSince1970: hour + 3_600), purpose: purpose)
        return RollupSeries(rows, now: now, slotSeconds: 3_600, count: hours)
    }

    /// A series object: `{"purpose": p, "values": [...]}`.
    static func series(_ name: String, _ values: [Double?], places: Int) -> JSON {
        ["purpose": .string(name), "values": DashNumber.array(values, places)]
    }

    /// The page header every page's JSON starts with.
    static func header(_ page: String, now: Date) -> JSONObject {
        ["page": .string(page), "as_of": .string(Timestamp.iso8601(now)), "day": .string(Windows.day(now))]
    }
}
