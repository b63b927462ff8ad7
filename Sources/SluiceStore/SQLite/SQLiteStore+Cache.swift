import Foundation
import GRDB

/// The response cache's durable tier on SQLite.
extension SQLiteStore {
    static let cacheColumns = """
        key, scope, purpose, prompt_version, model, provider, answered_model, body,
        input_tokens, output_tokens, cost_usd, created_at_ms, expires_at_ms, embedding
        """

    /// The entry under `key` if it expires after `now`; `nil` (a miss) when its body is sealed
    /// with a key this store does not hold.
    public func cacheGet(_ key: String, now: Date) async throws -> CacheEntry? {
        let cipher = self.cipher
        return try await pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT \(Self.cacheColumns) FROM cache_entries WHERE key = ? AND expires_at_ms > ?",
                arguments: [key, now.millis]
            ).flatMap { Self.cacheEntry($0, cipher: cipher) }
        }
    }

    /// Writes the entries in one transaction; an existing key is replaced in every column.
    /// With a cipher, `body` and `embedding` are sealed.
    public func cachePut(_ entries: [CacheEntry]) async throws {
        guard !entries.isEmpty else { return }
        let cipher = self.cipher
        try await pool.write { db in
            let statement = try db.cachedStatement(
                sql: "INSERT OR REPLACE INTO cache_entries (\(Self.cacheColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            for e in entries {
                try statement.execute(arguments: [
                    e.key, e.scope, e.purpose, e.promptVersion, e.model, e.provider, e.answeredModel,
                    Data(BodyCipher.seal(e.body, with: cipher)), e.inputTokens, e.outputTokens, e.costUSD, e.createdAt.millis,
                    e.expiresAt.millis, e.embedding.map { Data(BodyCipher.seal(CacheEmbedding.bytes($0), with: cipher)) },
                ])
            }
        }
    }

    /// The newest unexpired entries of `scope` that have an embedding, at most `limit`, leaving out
    /// those sealed with a key this store does not hold.
    public func cacheScope(_ scope: String, now: Date, limit: Int) async throws -> [CacheEntry] {
        let cipher = self.cipher
        return try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.cacheColumns) FROM cache_entries
                    WHERE scope = ? AND expires_at_ms > ? AND embedding IS NOT NULL
                    ORDER BY created_at_ms DESC, key DESC LIMIT ?
                    """,
                arguments: [scope, now.millis, max(0, limit)]
            ).compactMap { Self.cacheEntry($0, cipher: cipher) }
        }
    }

    /// Deletes the entries expired at `now`; returns how many.
    public func cachePurge(expiredAt now: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM cache_entries WHERE expires_at_ms <= ?", arguments: [now.millis])
            return db.changesCount
        }
    }

    /// Deletes every entry of `purpose`, or every entry when `nil`; returns how many.
    public func cacheClear(purpose: String?) async throws -> Int {
        try await pool.write { db in
            if let purpose {
                try db.execute(sql: "DELETE FROM cache_entries WHERE purpose = ?", arguments: [purpose])
            } else {
                try db.execute(sql: "DELETE FROM cache_entries")
            }
            return db.changesCount
        }
    }

    /// Entries and body bytes (as stored, so sealed bodies count their overhead) per purpose, expired entries included.
    public func cacheSizes() async throws -> [String: (entries: Int, bytes: Int)] {
        try await pool.read { db in
            var out: [String: (entries: Int, bytes: Int)] = [:]
            let rows = try Row.fetchAll(
                db, sql: "SELECT purpose, COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM cache_entries GROUP BY purpose")
            for row in rows { out[row[0]] = (entries: row[1], bytes: row[2]) }
            return out
        }
    }

    /// Cache lookups, hits and savings per purpose from the calls created at or after `since`.
    public func cacheUsage(since: Date) async throws -> [CacheUsageRow] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT purpose, COUNT(*),
                        SUM(CASE WHEN cache = 'hit' THEN 1 ELSE 0 END),
                        SUM(CASE WHEN cache = 'semantic_hit' THEN 1 ELSE 0 END),
                        TOTAL(CASE WHEN cache IN ('hit', 'semantic_hit') THEN saved_usd ELSE 0 END),
                        SUM(CASE WHEN cache IN ('hit', 'semantic_hit') THEN input_tokens + output_tokens ELSE 0 END)
                    FROM calls
                    WHERE created_at_ms >= ? AND cache IN ('hit', 'semantic_hit', 'miss')
                    GROUP BY purpose ORDER BY purpose
                    """,
                arguments: [since.millis]
            ).map { row in
                CacheUsageRow(
                    purpose: row[0], lookups: row[1], hits: row[2], semanticHits: row[3], savedUSD: row[4], savedTokens: row[5])
            }
        }
    }

    /// The entry of a row, its body and embedding opened; `nil` when `cipher` cannot open them.
    static func cacheEntry(_ row: Row, cipher: BodyCipher?) -> CacheEntry? {
        let stored: Data = row[7] ?? Data()
        guard let body = BodyCipher.open([UInt8](stored), with: cipher) else { return nil }
        var embedding: [Float]?
        if let data = row[13] as Data? {
            guard let bytes = BodyCipher.open([UInt8](data), with: cipher) else { return nil }
            embedding = CacheEmbedding.vector(bytes)
        }
        return CacheEntry(
            key: row[0], scope: row[1], purpose: row[2], promptVersion: row[3], model: row[4], provider: row[5],
            answeredModel: row[6], body: body, inputTokens: row[8], outputTokens: row[9], costUSD: row[10],
            createdAt: Date(millis: row[11]), expiresAt: Date(millis: row[12]), embedding: embedding)
    }
}
