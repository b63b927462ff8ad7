import Foundation
import PostgresNIO

/// Stored `Idempotency-Key` responses on PostgreSQL: a claim is one upsert, so two
/// nodes given the same key at once never both run the request.
extension PostgresStore {
    public func claimIdempotency(
        scope: String, key: String, requestHash: String, now: Date, expiredBefore: Date, abandonedBefore: Date
    ) async throws -> IdempotencyClaim {
        // A row pruned between the two statements is claimed on the next turn.
        for _ in 0..<3 {
            let claimed = try await rows(
                "claim idempotency key", IdempotencySQL.claim { "$\($0)" },
                [.text(scope), .text(key), .text(requestHash), .int(now.millis), .int(expiredBefore.millis), .int(abandonedBefore.millis)])
            if !claimed.isEmpty { return .claimed }
            let found = try await rows("read idempotency key", IdempotencySQL.select { "$\($0)" }, [.text(scope), .text(key)])
            if let row = found.first, let stored = IdempotentResponse(cells: try Self.cells(row, kinds: IdempotentResponse.kinds), cipher: cipher) {
                return stored.claim(for: requestHash)
            }
        }
        throw PostgresStoreError(operation: "claim idempotency key", kind: .other, detail: "the key's row kept changing")
    }

    public func completeIdempotency(
        scope: String, key: String, claimedAt: Date, status: Int, headers: String, body: String, now: Date
    ) async throws {
        _ = try await rows(
            "store idempotent response", IdempotencySQL.complete { "$\($0)" },
            [.int(now.millis), .int(Int64(status)), .text(headers), .text(cipher.map { $0.seal(body) } ?? body), .text(scope), .text(key), .int(claimedAt.millis)])
    }

    public func releaseIdempotency(scope: String, key: String, claimedAt: Date) async throws {
        _ = try await rows(
            "release idempotency key", IdempotencySQL.release { "$\($0)" }, [.text(scope), .text(key), .int(claimedAt.millis)])
    }

    public func pruneIdempotency(before: Date) async throws -> Int {
        let sql = IdempotencySQL.prune { "$\($0)" } + " RETURNING 1"
        return try await rows("prune idempotent responses", sql, [.int(before.millis)]).count
    }
}
