import Foundation
import SluiceCore

/// The `ledger` table's columns and the rule that decides which calls get an entry,
/// shared by both backends (the migration's backfill and every insert).
enum LedgerColumns {
    static let names = [
        "call_id", "at_ms", "kind", "purpose", "key_name", "user_id", "run_id", "model", "provider", "prompt_version",
        "cost_usd", "saved_usd", "input_tokens", "output_tokens",
    ]
    static let list = names.joined(separator: ", ")

    /// How each column is stored, in ``names`` order.
    static let kinds: [CallColumns.Kind] = names.map { name in
        switch name {
        case "at_ms", "input_tokens", "output_tokens": return .int
        case "cost_usd", "saved_usd": return .double
        default: return .text
        }
    }

    /// The `cache` values that make a call a cache hit.
    static let cacheHits: Set<String> = ["hit", "semantic_hit"]

    /// Kind of an entry for an upstream call.
    static let callKind = "call"
    /// Kind of an entry for a cache hit.
    static let cacheHitKind = "cache_hit"

    /// The statement that fills the ledger from the `calls` table by the same rule as
    /// ``CallRecord/ledgerCells`` (migration `006_ledger`); `user` is the quoted user column.
    static func backfillSQL(user: String) -> String {
        """
        INSERT INTO ledger (\(list))
        SELECT call_id, created_at_ms,
            CASE WHEN cache IN ('hit', 'semantic_hit') THEN '\(cacheHitKind)' ELSE '\(callKind)' END,
            purpose, key_name, \(user), run_id, model, provider, prompt_version,
            COALESCE(cost_usd, 0), saved_usd, input_tokens, output_tokens
        FROM calls
        WHERE cost_usd > 0 OR cache IN ('hit', 'semantic_hit')
        """
    }
}

extension CallRecord {
    /// The record's ledger entry as cells in ``LedgerColumns/names`` order, or `nil` when it
    /// gets none: only a record with a cost above zero or a cache hit has an entry.
    var ledgerCells: [Cell]? {
        let hit = LedgerColumns.cacheHits.contains(cache)
        let cost = costUSD ?? 0
        guard cost > 0 || hit else { return nil }
        func t(_ s: String?) -> Cell { s.map(Cell.text) ?? .null }
        return [
            .text(callID), .int(createdAtMillis), .text(hit ? LedgerColumns.cacheHitKind : LedgerColumns.callKind),
            .text(purpose), t(keyName), t(user), t(runID), .text(model), t(provider), t(promptVersion),
            .double(cost), .double(savedUSD), .int(Int64(usage.inputTokens)), .int(Int64(usage.outputTokens)),
        ]
    }
}

extension LedgerEntry {
    /// Rebuilds an entry from cells in ``LedgerColumns/names`` order.
    init(cells c: [Cell]) {
        self.init(
            callID: c[0].text ?? "", at: Date(millis: c[1].int ?? 0), kind: c[2].text ?? LedgerColumns.callKind,
            purpose: c[3].text ?? "", key: c[4].text, user: c[5].text, runID: c[6].text, model: c[7].text ?? "",
            provider: c[8].text, promptVersion: c[9].text, costUSD: c[10].double ?? 0, savedUSD: c[11].double ?? 0,
            inputTokens: Int(c[12].int ?? 0), outputTokens: Int(c[13].int ?? 0))
    }
}

extension LedgerDimension {
    /// The `ledger` column a total groups by.
    var column: String {
        switch self {
        case .purpose: return "purpose"
        case .model: return "model"
        case .key: return "key_name"
        case .user: return "user_id"
        case .provider: return "provider"
        case .run: return "run_id"
        }
    }
}

/// The SQL differences between the backends for ledger statements.
enum LedgerDialect {
    case sqlite, postgres

    /// The `n`th (1-based) placeholder.
    func placeholder(_ n: Int) -> String { self == .sqlite ? "?" : "$\(n)" }

    /// An integer sum, as a 64-bit integer (PostgreSQL sums `BIGINT` to `NUMERIC`).
    func intSum(_ column: String) -> String {
        self == .sqlite ? "COALESCE(SUM(\(column)), 0)" : "COALESCE(SUM(\(column)), 0)::BIGINT"
    }

    /// `column` sorted byte-wise, whatever the database's collation.
    func byteOrder(_ column: String) -> String { self == .sqlite ? column : "\(column) COLLATE \"C\"" }

    /// The UTC day (`YYYY-MM-DD`) of `at_ms`.
    var day: String {
        switch self {
        case .sqlite: return "strftime('%Y-%m-%d', at_ms / 1000, 'unixepoch')"
        case .postgres: return "to_char(to_timestamp(at_ms / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        }
    }
}

/// A ledger or call-count statement over a window: `from <= time < to`, optionally one purpose.
struct LedgerWindow {
    /// The `WHERE` clause's values in placeholder order.
    let values: [Cell]
    let dialect: LedgerDialect
    private let hasPurpose: Bool

    init(_ dialect: LedgerDialect, from: Date, to: Date, purpose: String?) {
        self.dialect = dialect
        hasPurpose = purpose != nil
        values = [.int(Self.millis(from)), .int(Self.millis(to))] + (purpose.map { [.text($0)] } ?? [])
    }

    /// A bound in milliseconds, rounded to the nearest as ``CallRecord/createdAtMillis`` is, so a
    /// record created at a bound is on the same millisecond; clamped to ±1e17.
    static func millis(_ date: Date) -> Int64 {
        let ms = (date.timeIntervalSince1970 * 1000).rounded()
        return Int64(ms.isNaN ? 0 : max(-1e17, min(1e17, ms)))
    }

    /// The `WHERE` clause on `time`.
    func whereClause(_ time: String) -> String {
        let p = dialect.placeholder
        return "WHERE \(time) >= \(p(1)) AND \(time) < \(p(2))" + (hasPurpose ? " AND purpose = \(p(3))" : "")
    }

    /// Totals grouped by `by` (one row when `nil`, even with no entries): group, cost, saved,
    /// calls, input and output tokens. Groups sorted by cost, highest first, then by group
    /// byte-wise with `NULL` last.
    func totalsSQL(by: LedgerDimension?) -> String {
        var sql = """
            SELECT \(by?.column ?? "NULL"), COALESCE(SUM(cost_usd), 0), COALESCE(SUM(saved_usd), 0), COUNT(*),
                \(dialect.intSum("input_tokens")), \(dialect.intSum("output_tokens"))
            FROM ledger \(whereClause("at_ms"))
            """
        if let c = by?.column {
            sql += " GROUP BY \(c) ORDER BY 2 DESC, (\(c) IS NULL), \(dialect.byteOrder(c))"
        }
        return sql
    }

    /// USD spent per UTC day; days whose entries cost nothing are left out.
    var dailySQL: String {
        """
        SELECT \(dialect.day) AS day, SUM(cost_usd) FROM ledger \(whereClause("at_ms"))
        GROUP BY day HAVING SUM(cost_usd) > 0 ORDER BY day
        """
    }

    /// Calls and errors from the `calls` table, the window on `created_at_ms`.
    var countsSQL: String {
        """
        SELECT COUNT(*), \(dialect.intSum("CASE WHEN status IN ('error', 'stream_interrupted') THEN 1 ELSE 0 END"))
        FROM calls \(whereClause("created_at_ms"))
        """
    }
}
