import Foundation
import GRDB

/// Stored `Idempotency-Key` responses on SQLite: a claim is one upsert in one write transaction.
extension SQLiteStore {
    public func claimIdempotency(
        scope: String, key: String, requestHash: String, now: Date, expiredBefore: Date, abandonedBefore: Date
    ) async throws -> IdempotencyClaim {
        let cipher = self.cipher
        return try await pool.write { db in
            let claimed = try Row.fetchOne(
                db, sql: IdempotencySQL.claim { _ in "?" },
                arguments: [scope, key, requestHash, now.millis, expiredBefore.millis, abandonedBefore.millis])
            if claimed != nil { return .claimed }
            let row = try Row.fetchOne(db, sql: IdempotencySQL.select { _ in "?" }, arguments: [scope, key])
            guard let found = row.flatMap({ IdempotentResponse(cells: Self.cells($0, count: IdempotentResponse.columns.count), cipher: cipher) }) else {
                throw DatabaseError(resultCode: .SQLITE_CONSTRAINT, message: "idempotency key collides with no readable row")
            }
            return found.claim(for: requestHash)
        }
    }

    public func completeIdempotency(
        scope: String, key: String, claimedAt: Date, status: Int, headers: String, body: String, now: Date
    ) async throws {
        let sealed = BodyCipher.seal(body, with: cipher)
        try await pool.write { db in
            try db.execute(
                sql: IdempotencySQL.complete { _ in "?" },
                arguments: [now.millis, status, headers, sealed, scope, key, claimedAt.millis])
        }
    }

    public func releaseIdempotency(scope: String, key: String, claimedAt: Date) async throws {
        try await pool.write { db in
            try db.execute(sql: IdempotencySQL.release { _ in "?" }, arguments: [scope, key, claimedAt.millis])
        }
    }

    public func pruneIdempotency(before: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: IdempotencySQL.prune { _ in "?" }, arguments: [before.millis])
            return db.changesCount
        }
    }
}
