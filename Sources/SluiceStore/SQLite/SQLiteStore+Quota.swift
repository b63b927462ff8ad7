import Foundation
import GRDB
import SluiceCore

/// Quota leases on SQLite: each statement group runs in one IMMEDIATE
/// transaction, so processes sharing the file serialise on it.
extension SQLiteStore {
    /// Takes up to `request.amount` from the window; `nil` when nothing is left.
    public func acquireLease(_ request: LeaseRequest) async throws -> Lease? {
        let id = IDs.make("lease", at: request.now)
        return try await pool.write { db -> Lease? in
            let allocated = try Int64.fetchOne(
                db, sql: "SELECT allocated FROM quota_pools WHERE scope = ? AND window_key = ?",
                arguments: [request.scope, request.window]) ?? 0
            let grant = max(0, min(request.amount, request.cap - allocated))
            try db.execute(
                sql: """
                    INSERT INTO quota_pools (scope, window_key, cap, allocated, used, updated_at_ms) VALUES (?, ?, ?, ?, 0, ?)
                    ON CONFLICT (scope, window_key) DO UPDATE SET cap = excluded.cap,
                        allocated = allocated + ?, updated_at_ms = excluded.updated_at_ms
                    """,
                arguments: [request.scope, request.window, request.cap, grant, request.now.millis, grant])
            guard grant > 0 else { return nil }
            try db.execute(
                sql: """
                    INSERT INTO quota_leases (lease_id, scope, window_key, node, amount, used, expires_at_ms)
                    VALUES (?, ?, ?, ?, ?, 0, ?)
                    """,
                arguments: [id, request.scope, request.window, request.node, grant, request.expiresAt.millis])
            return Lease(id: id, scope: request.scope, window: request.window, amount: grant, expiresAt: request.expiresAt)
        }
    }

    /// Records the use so far of an open lease, and what calls in flight hold of it.
    public func reportLeaseUse(_ leaseID: String, used: Int64, reserved: Int64) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE quota_leases SET used = ?, reserved = ? WHERE lease_id = ? AND settled_at_ms IS NULL",
                arguments: [max(0, used), max(0, reserved), leaseID])
        }
    }

    /// Closes a lease, keeping `used` as spent and returning the rest. `false` when it was
    /// settled or reclaimed already; use beyond what it recorded is then charged to the pool.
    @discardableResult
    public func settleLease(_ leaseID: String, used: Int64, now: Date) async throws -> Bool {
        let used = max(0, used)
        return try await pool.write { db in
            if try Self.settle(db, leaseID: leaseID, used: used, now: now) { return true }
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT scope, window_key, used FROM quota_leases WHERE lease_id = ? AND settled_at_ms IS NOT NULL",
                    arguments: [leaseID]),
                case let recorded: Int64 = row[2], used > recorded
            else { return false }
            try db.execute(sql: "UPDATE quota_leases SET used = ? WHERE lease_id = ?", arguments: [used, leaseID])
            try db.execute(
                sql: """
                    UPDATE quota_pools SET allocated = allocated + ?, used = used + ?, updated_at_ms = ?
                    WHERE scope = ? AND window_key = ?
                    """,
                arguments: [used - recorded, used - recorded, now.millis, row[0] as String, row[1] as String])
            return false
        }
    }

    static func settle(_ db: Database, leaseID: String, used: Int64?, now: Date) throws -> Bool {
        guard
            let row = try Row.fetchOne(
                db,
                sql: "SELECT scope, window_key, amount, used, reserved FROM quota_leases WHERE lease_id = ? AND settled_at_ms IS NULL",
                arguments: [leaseID])
        else { return false }
        let amount: Int64 = row[2]
        // A reclaimed lease (no `used` given) charges what its calls in flight held too.
        let spent = used ?? (row[3] as Int64) + (row[4] as Int64)
        try db.execute(
            sql: "UPDATE quota_leases SET used = ?, reserved = 0, settled_at_ms = ? WHERE lease_id = ?",
            arguments: [spent, now.millis, leaseID])
        try db.execute(
            sql: """
                UPDATE quota_pools SET allocated = allocated - ? + ?, used = used + ?, updated_at_ms = ?
                WHERE scope = ? AND window_key = ?
                """,
            arguments: [amount, spent, spent, now.millis, row[0] as String, row[1] as String])
        return true
    }

    /// Settles every expired lease at its last reported use plus reservation.
    public func reclaimExpiredLeases(now: Date) async throws -> Int {
        try await pool.write { db in
            let ids = try String.fetchAll(
                db, sql: "SELECT lease_id FROM quota_leases WHERE settled_at_ms IS NULL AND expires_at_ms <= ?",
                arguments: [now.millis])
            var n = 0
            for id in ids where try Self.settle(db, leaseID: id, used: nil, now: now) { n += 1 }
            return n
        }
    }

    /// The window's state, or `nil` if it was never leased from.
    public func quotaUsage(scope: String, window: String) async throws -> QuotaUsage? {
        try await pool.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT p.cap, p.allocated, p.used, COALESCE(SUM(l.used), 0), COALESCE(SUM(l.reserved), 0)
                    FROM quota_pools p LEFT JOIN quota_leases l
                        ON l.scope = p.scope AND l.window_key = p.window_key AND l.settled_at_ms IS NULL
                    WHERE p.scope = ? AND p.window_key = ? GROUP BY p.cap, p.allocated, p.used
                    """,
                arguments: [scope, window]
            ).map { QuotaUsage(cap: $0[0], allocated: $0[1], used: $0[2], openUsed: $0[3], openReserved: $0[4]) }
        }
    }

    /// Deletes idle windows with no open lease, and their settled leases.
    public func pruneQuotaWindows(before: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(
                sql: """
                    DELETE FROM quota_pools WHERE updated_at_ms < ? AND NOT EXISTS (
                        SELECT 1 FROM quota_leases l WHERE l.scope = quota_pools.scope
                        AND l.window_key = quota_pools.window_key AND l.settled_at_ms IS NULL)
                    """,
                arguments: [before.millis])
            let pools = db.changesCount
            try db.execute(
                sql: "DELETE FROM quota_leases WHERE settled_at_ms IS NOT NULL AND settled_at_ms < ?",
                arguments: [before.millis])
            return pools
        }
    }
}

extension Date {
    /// Milliseconds since 1970, as stored.
    var millis: Int64 { Int64((timeIntervalSince1970 * 1000).rounded(.down)) }

    /// The date `millis` milliseconds after 1970.
    init(millis: Int64) { self.init(timeIntervalSince1970: Double(millis) / 1000) }
}
