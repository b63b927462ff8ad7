import Foundation
import PostgresNIO
import SluiceCore

/// Quota leases on PostgreSQL. A grant is one statement: the pool row is
/// upserted under its row lock, the grant computed from the locked values and
/// kept in `last_grant`, and the lease row inserted from it. Concurrent nodes
/// queue on the row lock, so outstanding leases plus settled use never pass the cap.
extension PostgresStore {
    static let acquireSQL = """
        WITH g AS (
            INSERT INTO quota_pools AS p (scope, window_key, cap, allocated, used, last_grant, updated_at_ms)
            VALUES ($1, $2, $3, LEAST($4, GREATEST($3, 0)), 0, LEAST($4, GREATEST($3, 0)), $5)
            ON CONFLICT (scope, window_key) DO UPDATE SET
                cap = EXCLUDED.cap,
                last_grant = GREATEST(0, LEAST($4, EXCLUDED.cap - p.allocated)),
                allocated = p.allocated + GREATEST(0, LEAST($4, EXCLUDED.cap - p.allocated)),
                updated_at_ms = EXCLUDED.updated_at_ms
            RETURNING last_grant
        )
        INSERT INTO quota_leases (lease_id, scope, window_key, node, amount, used, expires_at_ms)
        SELECT $6, $1, $2, $7, last_grant, 0, $8 FROM g WHERE last_grant > 0
        RETURNING amount
        """

    /// Takes up to `request.amount` from the window in one statement; `nil` when nothing is left.
    public func acquireLease(_ request: LeaseRequest) async throws -> Lease? {
        let id = IDs.make("lease", at: request.now)
        let rows = try await rows(
            "acquire lease", Self.acquireSQL,
            [
                .text(request.scope), .text(request.window), .int(request.cap), .int(max(0, request.amount)),
                .int(request.now.millis), .text(id), .text(request.node), .int(request.expiresAt.millis),
            ])
        guard let amount = try rows.first?.decode(Int64.self) else { return nil }
        return Lease(id: id, scope: request.scope, window: request.window, amount: amount, expiresAt: request.expiresAt)
    }

    /// Records the use so far of an open lease, and what calls in flight hold of it.
    public func reportLeaseUse(_ leaseID: String, used: Int64, reserved: Int64) async throws {
        _ = try await rows(
            "report lease use",
            "UPDATE quota_leases SET used = $1, reserved = $3 WHERE lease_id = $2 AND settled_at_ms IS NULL",
            [.int(max(0, used)), .text(leaseID), .int(max(0, reserved))])
    }

    static let settleSQL = """
        WITH l AS (
            UPDATE quota_leases SET used = COALESCE($2, used), reserved = 0, settled_at_ms = $3
            WHERE lease_id = $1 AND settled_at_ms IS NULL
            RETURNING scope, window_key, amount, used
        )
        UPDATE quota_pools p SET allocated = p.allocated - l.amount + l.used, used = p.used + l.used, updated_at_ms = $3
        FROM l WHERE p.scope = l.scope AND p.window_key = l.window_key
        RETURNING 1
        """

    /// Charges the part of a late settle beyond what the settled (or reclaimed) lease recorded.
    /// The row lock of `FOR UPDATE` serialises late settles of one lease.
    static let lateSettleSQL = """
        WITH o AS (
            SELECT lease_id, scope, window_key, used AS recorded FROM quota_leases
            WHERE lease_id = $1 AND settled_at_ms IS NOT NULL AND used < $2
            FOR UPDATE
        ), l AS (
            UPDATE quota_leases q SET used = $2 FROM o WHERE q.lease_id = o.lease_id
            RETURNING o.scope, o.window_key, $2 - o.recorded AS extra
        )
        UPDATE quota_pools p SET allocated = p.allocated + l.extra, used = p.used + l.extra, updated_at_ms = $3
        FROM l WHERE p.scope = l.scope AND p.window_key = l.window_key
        RETURNING 1
        """

    /// Closes a lease, keeping `used` as spent and returning the rest. `false` when it was
    /// settled or reclaimed already; use beyond what it recorded is then charged to the pool.
    @discardableResult
    public func settleLease(_ leaseID: String, used: Int64, now: Date) async throws -> Bool {
        let values: [Cell] = [.text(leaseID), .int(max(0, used)), .int(now.millis)]
        if try await !rows("settle lease", Self.settleSQL, values).isEmpty { return true }
        // A separate statement: it must see a reclaim that committed while the first one waited.
        _ = try await rows("settle late lease", Self.lateSettleSQL, values)
        return false
    }

    static let reclaimSQL = """
        WITH l AS (
            UPDATE quota_leases SET used = used + reserved, reserved = 0, settled_at_ms = $1
            WHERE settled_at_ms IS NULL AND expires_at_ms <= $1
            RETURNING scope, window_key, amount, used
        ), s AS (
            SELECT scope, window_key, SUM(amount) AS amount, SUM(used) AS used, COUNT(*) AS n
            FROM l GROUP BY scope, window_key
        ), u AS (
            UPDATE quota_pools p SET allocated = p.allocated - s.amount + s.used, used = p.used + s.used,
                updated_at_ms = $1
            FROM s WHERE p.scope = s.scope AND p.window_key = s.window_key
            RETURNING s.n
        )
        SELECT COALESCE(SUM(n), 0)::BIGINT FROM u
        """

    /// Settles every expired lease at its last reported use plus reservation.
    public func reclaimExpiredLeases(now: Date) async throws -> Int {
        Int(try await rows("reclaim leases", Self.reclaimSQL, [.int(now.millis)]).first?.decode(Int64.self) ?? 0)
    }

    /// The window's state, or `nil` if it was never leased from.
    public func quotaUsage(scope: String, window: String) async throws -> QuotaUsage? {
        try await rows(
            "read quota",
            """
            SELECT p.cap, p.allocated, p.used, COALESCE(SUM(l.used), 0)::BIGINT, COALESCE(SUM(l.reserved), 0)::BIGINT
            FROM quota_pools p LEFT JOIN quota_leases l
                ON l.scope = p.scope AND l.window_key = p.window_key AND l.settled_at_ms IS NULL
            WHERE p.scope = $1 AND p.window_key = $2 GROUP BY p.cap, p.allocated, p.used
            """,
            [.text(scope), .text(window)]
        ).first.map { row in
            let (cap, allocated, used, openUsed, openReserved) = try row.decode((Int64, Int64, Int64, Int64, Int64).self)
            return QuotaUsage(cap: cap, allocated: allocated, used: used, openUsed: openUsed, openReserved: openReserved)
        }
    }

    static let pruneSQL = """
        WITH d AS (
            DELETE FROM quota_pools p WHERE p.updated_at_ms < $1 AND NOT EXISTS (
                SELECT 1 FROM quota_leases l WHERE l.scope = p.scope AND l.window_key = p.window_key
                AND l.settled_at_ms IS NULL)
            RETURNING 1
        ), dl AS (
            DELETE FROM quota_leases WHERE settled_at_ms IS NOT NULL AND settled_at_ms < $1 RETURNING 1
        )
        SELECT (SELECT COUNT(*) FROM d)::BIGINT, (SELECT COUNT(*) FROM dl)::BIGINT
        """

    /// Deletes idle windows with no open lease, and old settled leases.
    public func pruneQuotaWindows(before: Date) async throws -> Int {
        guard let row = try await rows("prune quota", Self.pruneSQL, [.int(before.millis)]).first else { return 0 }
        let (pools, _) = try row.decode((Int64, Int64).self)
        return Int(pools)
    }
}
