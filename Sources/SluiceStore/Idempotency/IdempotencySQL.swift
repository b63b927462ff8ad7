/// The statements both backends use for stored idempotent responses; `p(n)` is
/// the placeholder for the n-th bound value (`?` or `$n`).
enum IdempotencySQL {
    /// Binds scope, key, hash, now, expired-before, abandoned-before; returns a row when the key was claimed.
    static func claim(_ p: (Int) -> String) -> String {
        """
        INSERT INTO idempotent_responses (scope, key, request_hash, created_at_ms) VALUES (\(p(1)), \(p(2)), \(p(3)), \(p(4)))
        ON CONFLICT (scope, key) DO UPDATE SET request_hash = excluded.request_hash, created_at_ms = excluded.created_at_ms,
            completed_at_ms = NULL, status = NULL, headers = NULL, body = NULL
        WHERE idempotent_responses.created_at_ms < \(p(5))
            OR (idempotent_responses.completed_at_ms IS NULL AND idempotent_responses.created_at_ms < \(p(6)))
        RETURNING scope
        """
    }

    /// Binds scope, key.
    static func select(_ p: (Int) -> String) -> String {
        "SELECT \(IdempotentResponse.list) FROM idempotent_responses WHERE scope = \(p(1)) AND key = \(p(2))"
    }

    /// Binds now, status, headers, body, scope, key, claimed-at.
    static func complete(_ p: (Int) -> String) -> String {
        """
        UPDATE idempotent_responses SET completed_at_ms = \(p(1)), status = \(p(2)), headers = \(p(3)), body = \(p(4))
        WHERE scope = \(p(5)) AND key = \(p(6)) AND created_at_ms = \(p(7)) AND completed_at_ms IS NULL
        """
    }

    /// Binds scope, key, claimed-at.
    static func release(_ p: (Int) -> String) -> String {
        """
        DELETE FROM idempotent_responses
        WHERE scope = \(p(1)) AND key = \(p(2)) AND created_at_ms = \(p(3)) AND completed_at_ms IS NULL
        """
    }

    /// Binds before.
    static func prune(_ p: (Int) -> String) -> String {
        "DELETE FROM idempotent_responses WHERE created_at_ms < \(p(1))"
    }
}
