import Foundation
import SluiceCore

/// The `call_rollups` table, shared by both backends: one row per (UTC hour, purpose) with
/// every counter, and one `lat_N` column per ``LatencyHistogram`` slot, so a row is upserted
/// additively in one statement and a month of dashboard reads a few thousand rows.
enum RollupColumns {
    /// Whole-number sums, in the order of ``CallRollup``'s fields.
    static let counters = [
        "calls", "errors", "refusals", "cache_hits", "shadows", "input_tokens", "output_tokens", "cached_tokens",
        "schema_checked", "schema_valid",
    ]
    /// Floating sums.
    static let amounts = ["cost_usd", "saved_usd"]
    /// One count per latency slot.
    static let latency = (0..<LatencyHistogram.slotCount).map { "lat_\($0)" }
    /// Every summed column.
    static let metrics = counters + amounts + latency
    /// Every column: the key, then the sums.
    static let names = ["hour_ms", "purpose"] + metrics
    static let list = names.joined(separator: ", ")

    /// One hour in milliseconds.
    static let hourMillis: Int64 = 3_600_000

    /// The start of the UTC hour holding `ms`.
    static func hourStart(_ ms: Int64) -> Int64 {
        ms - ((ms % hourMillis) + hourMillis) % hourMillis
    }

    /// `CREATE TABLE call_rollups` in the backend's types.
    static func createSQL(integer: String, real: String, tail: String = "") -> String {
        let sums = counters.map { "\($0) \(integer) NOT NULL" } + amounts.map { "\($0) \(real) NOT NULL" }
            + latency.map { "\($0) \(integer) NOT NULL" }
        return """
            CREATE TABLE call_rollups (
                hour_ms \(integer) NOT NULL, purpose TEXT NOT NULL,
                \(sums.joined(separator: ", "))
            , PRIMARY KEY (hour_ms, purpose))\(tail)
            """
    }

    /// The conflict clause that adds a row's sums to the stored row's, so several writers
    /// (nodes on one PostgreSQL) can upsert the same hour at once.
    static let addOnConflict =
        " ON CONFLICT (hour_ms, purpose) DO UPDATE SET "
        + metrics.map { "\($0) = call_rollups.\($0) + excluded.\($0)" }.joined(separator: ", ")

    /// The `calls` columns a record's contribution is read from (see ``RollupFacts``).
    static let factColumns = [
        "created_at_ms", "purpose", "status", "refusal", "cache", "shadow_of", "cost_usd", "saved_usd",
        "input_tokens", "output_tokens", "cached_tokens", "schema_valid", "latency_ms",
    ]
    static let factKinds: [CallColumns.Kind] = factColumns.map { name in
        CallColumns.kinds[CallColumns.names.firstIndex(of: name)!]
    }

    /// The statement that fills `call_rollups` from `calls` by the same rules as
    /// ``RollupFacts`` (migration `013_rollups` and the rebuild). `bound(i)` is the SQL for
    /// ``LatencyHistogram/bounds``[i]: a parameter, or an exact literal.
    ///
    /// Calls are grouped by (hour, purpose, slot) first, then the slots are pivoted into
    /// the `lat_N` columns, so the per-slot expressions run once per group, not once per call.
    static func backfillSQL(bound: (Int) -> String) -> String {
        let slotCase = "CASE "
            + LatencyHistogram.bounds.indices.map { "WHEN latency_ms <= \(bound($0)) THEN \($0) " }.joined()
            + "ELSE \(LatencyHistogram.bounds.count) END"
        let hits = LedgerColumns.cacheHits.sorted().map { "'\($0)'" }.joined(separator: ", ")
        let grouped = """
            SELECT hour_ms, purpose, slot, COUNT(*) AS calls,
                SUM(CASE WHEN status <> 'ok' THEN 1 ELSE 0 END) AS errors,
                SUM(CASE WHEN refusal <> 0 THEN 1 ELSE 0 END) AS refusals,
                SUM(CASE WHEN cache IN (\(hits)) THEN 1 ELSE 0 END) AS cache_hits,
                SUM(CASE WHEN shadow_of IS NOT NULL THEN 1 ELSE 0 END) AS shadows,
                SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,
                SUM(cached_tokens) AS cached_tokens,
                SUM(CASE WHEN schema_valid IS NOT NULL THEN 1 ELSE 0 END) AS schema_checked,
                SUM(CASE WHEN schema_valid <> 0 THEN 1 ELSE 0 END) AS schema_valid,
                SUM(COALESCE(cost_usd, 0)) AS cost_usd, SUM(saved_usd) AS saved_usd
            FROM (
                SELECT created_at_ms - (created_at_ms % \(hourMillis)) AS hour_ms, purpose, status, refusal, cache,
                    shadow_of, input_tokens, output_tokens, cached_tokens, schema_valid, cost_usd, saved_usd,
                    \(slotCase) AS slot
                FROM calls
            ) c
            GROUP BY hour_ms, purpose, slot
            """
        let sums = (counters + amounts).map { "SUM(\($0))" }
            + latency.indices.map { "SUM(CASE WHEN slot = \($0) THEN calls ELSE 0 END)" }
        return """
            INSERT INTO call_rollups (\(list))
            SELECT hour_ms, purpose, \(sums.joined(separator: ", "))
            FROM (\(grouped)) g
            GROUP BY hour_ms, purpose
            """
    }

    /// The bounds as exact PostgreSQL literals (the shortest text that reads back as the same double).
    static func postgresBound(_ i: Int) -> String {
        "CAST('\(LatencyHistogram.bounds[i])' AS DOUBLE PRECISION)"
    }

    /// `[from, to)` as whole milliseconds for comparing with `hour_ms`.
    static func millisRange(_ from: Date, _ to: Date) -> (Int64, Int64) {
        func ms(_ d: Date) -> Int64 {
            let v = (d.timeIntervalSince1970 * 1000).rounded(.up)
            return Int64(v.isFinite ? max(-1e17, min(1e17, v)) : (v > 0 ? 1e17 : -1e17))
        }
        return (ms(from), ms(to))
    }
}

extension CallRollup {
    /// The rollup as cells in ``RollupColumns/names`` order.
    var cells: [Cell] {
        let key: [Cell] = [.int(Int64((hour.timeIntervalSince1970 * 1000).rounded())), .text(purpose)]
        let ints = [calls, errors, refusals, cacheHits, shadows, inputTokens, outputTokens, cachedTokens, schemaChecked, schemaValid]
        return key + ints.map { .int(Int64($0)) } + [.double(costUSD), .double(savedUSD)] + latency.map { .int(Int64($0)) }
    }

    /// Rebuilds a rollup from the columns after the key, read by ``RollupColumns/names`` index.
    init(hourMs: Int64, purpose: String, int: (Int) throws -> Int64, double: (Int) throws -> Double) rethrows {
        self.init(hour: Date(timeIntervalSince1970: Double(hourMs) / 1000), purpose: purpose)
        func i(_ n: Int) throws -> Int { Int(try int(n)) }
        calls = try i(2)
        errors = try i(3)
        refusals = try i(4)
        cacheHits = try i(5)
        shadows = try i(6)
        inputTokens = try i(7)
        outputTokens = try i(8)
        cachedTokens = try i(9)
        schemaChecked = try i(10)
        schemaValid = try i(11)
        costUSD = try double(12)
        savedUSD = try double(13)
        for slot in latency.indices { latency[slot] = try i(14 + slot) }
    }
}
