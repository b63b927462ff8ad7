import Foundation
import PostgresNIO

/// The response cache's durable tier on PostgreSQL, shared by every node.
extension PostgresStore {
    static let cacheColumnList = [
        "key", "scope", "purpose", "prompt_version", "model", "provider", "answered_model", "body",
        "input_tokens", "output_tokens", "cost_usd", "created_at_ms", "expires_at_ms", "embedding",
    ]
    static let cacheColumns = cacheColumnList.joined(separator: ", ")
    static let cacheUpsertTail =
        " ON CONFLICT (key) DO UPDATE SET "
        + cacheColumnList.dropFirst().map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")
    /// Entries per statement: 14 parameters each, well under PostgreSQL's 65,535.
    static let cacheRowsPerStatement = 1_000

    /// The entry under `key` if it expires after `now`; `nil` (a miss) when its body is sealed
    /// with a key this store does not hold.
    public func cacheGet(_ key: String, now: Date) async throws -> CacheEntry? {
        let q: PostgresQuery =
            "SELECT \(unescaped: Self.cacheColumns) FROM cache_entries WHERE key = \(key) AND expires_at_ms > \(now.millis)"
        return try await cacheRows("read cache entry", q).first
    }

    /// Writes the entries in one transaction, multi-row statements of up to 1,000 rows;
    /// an existing key is replaced in every column. With a cipher, `body` and `embedding` are sealed.
    public func cachePut(_ entries: [CacheEntry]) async throws {
        let cipher = self.cipher
        try await upsertInBatches(
            "write cache entries", entries, key: \.key, rowsPerStatement: Self.cacheRowsPerStatement,
            { Self.cacheInsertQuery($0, cipher: cipher) })
    }

    static func cacheInsertQuery(_ entries: ArraySlice<CacheEntry>, cipher: BodyCipher?) -> PostgresQuery {
        let width = cacheColumnList.count
        var sql = "INSERT INTO cache_entries (\(cacheColumns)) VALUES "
        var binds = PostgresBindings(capacity: entries.count * width)
        for (i, e) in entries.enumerated() {
            let first = i * width
            sql += (i == 0 ? "(" : ", (") + (1...width).map { "$\(first + $0)" }.joined(separator: ", ") + ")"
            binds.append(e.key)
            binds.append(e.scope)
            binds.append(e.purpose)
            binds.append(e.promptVersion)
            binds.append(e.model)
            binds.append(e.provider)
            binds.append(e.answeredModel)
            binds.append(ByteBuffer(bytes: BodyCipher.seal(e.body, with: cipher)))
            binds.append(Int64(e.inputTokens))
            binds.append(Int64(e.outputTokens))
            binds.append(e.costUSD)
            binds.append(e.createdAt.millis)
            binds.append(e.expiresAt.millis)
            binds.append(e.embedding.map { ByteBuffer(bytes: BodyCipher.seal(CacheEmbedding.bytes($0), with: cipher)) })
        }
        sql += cacheUpsertTail
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    /// The newest unexpired entries of `scope` that have an embedding, at most `limit`, leaving out
    /// those sealed with a key this store does not hold.
    public func cacheScope(_ scope: String, now: Date, limit: Int) async throws -> [CacheEntry] {
        let q: PostgresQuery = """
            SELECT \(unescaped: Self.cacheColumns) FROM cache_entries
            WHERE scope = \(scope) AND expires_at_ms > \(now.millis) AND embedding IS NOT NULL
            ORDER BY created_at_ms DESC, key DESC LIMIT \(Int64(max(0, limit)))
            """
        return try await cacheRows("read cache scope", q)
    }

    /// Deletes the entries expired at `now`; returns how many.
    public func cachePurge(expiredAt now: Date) async throws -> Int {
        try await cacheCount(
            "purge cache",
            "WITH d AS (DELETE FROM cache_entries WHERE expires_at_ms <= \(now.millis) RETURNING 1) SELECT COUNT(*) FROM d")
    }

    /// Deletes every entry of `purpose`, or every entry when `nil`; returns how many.
    public func cacheClear(purpose: String?) async throws -> Int {
        guard let purpose else {
            return try await cacheCount("clear cache", "WITH d AS (DELETE FROM cache_entries RETURNING 1) SELECT COUNT(*) FROM d")
        }
        return try await cacheCount(
            "clear cache", "WITH d AS (DELETE FROM cache_entries WHERE purpose = \(purpose) RETURNING 1) SELECT COUNT(*) FROM d")
    }

    /// Entries and body bytes (as stored, so sealed bodies count their overhead) per purpose, expired entries included.
    public func cacheSizes() async throws -> [String: (entries: Int, bytes: Int)] {
        let rows = try await rows(
            "read cache sizes",
            "SELECT purpose, COUNT(*), COALESCE(SUM(octet_length(body)), 0)::BIGINT FROM cache_entries GROUP BY purpose")
        var out: [String: (entries: Int, bytes: Int)] = [:]
        for row in rows {
            let (purpose, entries, bytes) = try row.decode((String, Int64, Int64).self)
            out[purpose] = (entries: Int(entries), bytes: Int(bytes))
        }
        return out
    }

    /// Cache lookups, hits and savings per purpose from the calls created at or after `since`.
    public func cacheUsage(since: Date) async throws -> [CacheUsageRow] {
        let rows = try await rows(
            "read cache usage",
            """
            SELECT purpose, COUNT(*),
                COUNT(*) FILTER (WHERE cache = 'hit'),
                COUNT(*) FILTER (WHERE cache = 'semantic_hit'),
                COALESCE(SUM(saved_usd) FILTER (WHERE cache IN ('hit', 'semantic_hit')), 0)::DOUBLE PRECISION,
                COALESCE(SUM(input_tokens + output_tokens) FILTER (WHERE cache IN ('hit', 'semantic_hit')), 0)::BIGINT
            FROM calls
            WHERE created_at_ms >= $1 AND cache IN ('hit', 'semantic_hit', 'miss')
            GROUP BY purpose ORDER BY purpose COLLATE "C"
            """, [.int(since.millis)])
        return try rows.map { row in
            let (purpose, lookups, hits, semantic, usd, tokens) = try row.decode((String, Int64, Int64, Int64, Double, Int64).self)
            return CacheUsageRow(
                purpose: purpose, lookups: Int(lookups), hits: Int(hits), semanticHits: Int(semantic), savedUSD: usd,
                savedTokens: Int(tokens))
        }
    }

    /// Runs a query that returns cache entry rows; rows the cipher cannot open are left out.
    func cacheRows(_ operation: String, _ q: PostgresQuery) async throws -> [CacheEntry] {
        let cipher = self.cipher
        return try await run(operation) { client in
            var out: [CacheEntry] = []
            for try await row in try await client.query(q) {
                if let entry = try Self.cacheEntry(row, cipher: cipher) { out.append(entry) }
            }
            return out
        }
    }

    /// Runs a statement that returns one count.
    func cacheCount(_ operation: String, _ q: PostgresQuery) async throws -> Int {
        try await run(operation) { client in
            var n: Int64 = 0
            for try await count in try await client.query(q).decode(Int64.self) { n = count }
            return Int(n)
        }
    }

    /// The entry of a row, its body and embedding opened; `nil` when `cipher` cannot open them.
    static func cacheEntry(_ row: PostgresRow, cipher: BodyCipher?) throws -> CacheEntry? {
        let c = row.makeRandomAccess()
        let stored = try c[7].decode(ByteBuffer?.self).map { Array($0.readableBytesView) } ?? []
        guard let body = BodyCipher.open(stored, with: cipher) else { return nil }
        var embedding: [Float]?
        if let buffer = try c[13].decode(ByteBuffer?.self) {
            guard let bytes = BodyCipher.open(Array(buffer.readableBytesView), with: cipher) else { return nil }
            embedding = CacheEmbedding.vector(bytes)
        }
        return CacheEntry(
            key: try c[0].decode(String.self), scope: try c[1].decode(String.self), purpose: try c[2].decode(String.self),
            promptVersion: try c[3].decode(String?.self), model: try c[4].decode(String.self),
            provider: try c[5].decode(String?.self), answeredModel: try c[6].decode(String?.self),
            body: body,
            inputTokens: Int(try c[8].decode(Int64.self)), outputTokens: Int(try c[9].decode(Int64.self)),
            costUSD: try c[10].decode(Double?.self), createdAt: Date(millis: try c[11].decode(Int64.self)),
            expiresAt: Date(millis: try c[12].decode(Int64.self)),
            embedding: embedding)
    }
}
