import Foundation
import PostgresNIO
import SluiceCore

/// The spend ledger on PostgreSQL, shared by every node. Entries are written by ``PostgresStore/insert(_:)``.
extension PostgresStore {
    static let ledgerUpsertTail =
        " ON CONFLICT (call_id) DO UPDATE SET "
        + LedgerColumns.names.dropFirst().map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")

    /// One statement that brings the ledger in line with a chunk of call records (one row per
    /// call id): upserts the entries of the records that get one and deletes those of the records
    /// that do not (a record inserted again may no longer qualify).
    static func ledgerQuery(_ records: ArraySlice<CallRecord>) -> PostgresQuery? {
        var entries: [[Cell]] = []
        var gone: [String] = []
        for r in records {
            if let cells = r.ledgerCells { entries.append(cells) } else { gone.append(r.callID) }
        }
        var binds = PostgresBindings(capacity: 1 + entries.count * LedgerColumns.names.count)
        var sql = ""
        if !gone.isEmpty {
            binds.append(gone)
            sql = "DELETE FROM ledger WHERE call_id = ANY($1)"
            guard !entries.isEmpty else { return PostgresQuery(unsafeSQL: sql, binds: binds) }
            // A data-modifying CTE runs once even unreferenced; it and the insert touch different ids.
            sql = "WITH gone AS (\(sql)) "
        }
        sql += "INSERT INTO ledger (\(LedgerColumns.list)) VALUES "
        appendValues(entries, to: &sql, &binds)
        sql += ledgerUpsertTail
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    /// The entry of one call, if it has one.
    public func ledgerEntry(callID: String) async throws -> LedgerEntry? {
        try await rows("read ledger entry", "SELECT \(LedgerColumns.list) FROM ledger WHERE call_id = $1", [.text(callID)])
            .first.map { LedgerEntry(cells: try Self.cells($0, kinds: LedgerColumns.kinds)) }
    }

    /// Totals of entries with `from <= at < to`, grouped by `by` (one row, zeros when empty, if `nil`),
    /// optionally one purpose; sorted by cost, highest first, then by group.
    public func ledgerTotals(from: Date, to: Date, by: LedgerDimension?, purpose: String?) async throws -> [LedgerTotal] {
        let window = LedgerWindow(.postgres, from: from, to: to, purpose: purpose)
        return try await rows("ledger totals", window.totalsSQL(by: by), window.values).map { row in
            let (group, cost, saved, calls, input, output) = try row.decode((String?, Double, Double, Int64, Int64, Int64).self)
            return LedgerTotal(
                group: group, costUSD: cost, savedUSD: saved, calls: Int(calls), inputTokens: Int(input), outputTokens: Int(output))
        }
    }

    /// USD spent per UTC day (`YYYY-MM-DD`) with `from <= at < to`, optionally one purpose; days without spend are absent.
    public func ledgerDaily(from: Date, to: Date, purpose: String?) async throws -> [String: Double] {
        let window = LedgerWindow(.postgres, from: from, to: to, purpose: purpose)
        var days: [String: Double] = [:]
        for row in try await rows("ledger daily", window.dailySQL, window.values) {
            let (day, cost) = try row.decode((String, Double).self)
            days[day] = cost
        }
        return days
    }

    /// Calls and errors (status `error` or `stream_interrupted`) created with `from <= created_at < to`, optionally one purpose.
    public func callCounts(from: Date, to: Date, purpose: String?) async throws -> CallCounts {
        let window = LedgerWindow(.postgres, from: from, to: to, purpose: purpose)
        guard let row = try await rows("call counts", window.countsSQL, window.values).first else {
            return CallCounts(calls: 0, errors: 0)
        }
        let (calls, errors) = try row.decode((Int64, Int64).self)
        return CallCounts(calls: Int(calls), errors: Int(errors))
    }
}
