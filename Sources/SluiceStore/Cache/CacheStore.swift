import Foundation
import SluiceCore

/// One cached answer: the exact response body a call produced, keyed by what
/// really determines it (see the engine's `CacheKey`).
public struct CacheEntry: Sendable, Equatable {
    /// The exact-match key: a SHA-256 hex digest.
    public var key: String
    /// The semantic scope: a SHA-256 hex digest of everything but the user input
    /// (purpose, prompt name and version, template hash, model, params). Semantic
    /// search never crosses scopes.
    public var scope: String
    /// The purpose that wrote the entry.
    public var purpose: String
    /// The prompt version, when the call rendered a prompt.
    public var promptVersion: String?
    /// The model name the client asked for.
    public var model: String
    /// The provider and pinned model that produced the answer.
    public var provider: String?
    /// The pinned model id the provider reported.
    public var answeredModel: String?
    /// The complete OpenAI `chat.completion` body.
    public var body: [UInt8]
    /// The usage of the call that produced the answer: what a hit saves.
    public var inputTokens: Int
    /// Output tokens of the original call.
    public var outputTokens: Int
    /// What the original call cost; `nil` when unpriced.
    public var costUSD: Double?
    /// When it was written.
    public var createdAt: Date
    /// When it stops being served.
    public var expiresAt: Date
    /// The unit-length embedding of the rendered user input, for semantic entries.
    public var embedding: [Float]?
    /// What a hit records, derived from `body` once and kept in memory (never stored).
    public var answer: CachedAnswer?

    /// An entry; see the properties.
    public init(
        key: String, scope: String, purpose: String, promptVersion: String?, model: String, provider: String?,
        answeredModel: String?, body: [UInt8], inputTokens: Int, outputTokens: Int, costUSD: Double?, createdAt: Date,
        expiresAt: Date, embedding: [Float]? = nil
    ) {
        self.key = key
        self.scope = scope
        self.purpose = purpose
        self.promptVersion = promptVersion
        self.model = model
        self.provider = provider
        self.answeredModel = answeredModel
        self.body = body
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.costUSD = costUSD
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.embedding = embedding
    }

    /// `answer` derived from `body`.
    public var withAnswer: CacheEntry {
        var e = self
        e.answer = CachedAnswer(body: body)
        return e
    }

    /// Roughly how many bytes the entry holds in memory.
    public var byteSize: Int { body.count + key.utf8.count + scope.utf8.count + 160 + (embedding?.count ?? 0) * 4 }
}

/// The answer text and finish reasons of a cached `chat.completion`: what a cache hit
/// records. A function of the entry's body, so it takes no part in equality.
public struct CachedAnswer: Sendable, Equatable {
    /// The first choice's text.
    public var text: String
    /// Each choice's finish reason.
    public var finishReasons: [String]

    /// Reads them from a completion body.
    public init(body: [UInt8]) {
        let completion = (try? JSON.parse(body))?.objectValue ?? [:]
        text = ChatText.completionText(completion)
        finishReasons = ChatText.finishReasons(of: completion)
    }

    /// Always true: entries with equal bodies have equal answers, and an entry read back
    /// from the store (without one) equals the in-memory copy.
    public static func == (lhs: CachedAnswer, rhs: CachedAnswer) -> Bool { true }
}

/// Cache use of one purpose over a window, from the call records.
public struct CacheUsageRow: Sendable, Equatable {
    /// The purpose.
    public var purpose: String
    /// Calls that looked in the cache: hits, semantic hits and misses (not bypasses).
    public var lookups: Int
    /// Exact hits.
    public var hits: Int
    /// Semantic hits.
    public var semanticHits: Int
    /// Dollars the hits saved (their `saved_usd`).
    public var savedUSD: Double
    /// Tokens (input + output) the hits saved.
    public var savedTokens: Int

    /// A row; see the properties.
    public init(purpose: String, lookups: Int, hits: Int, semanticHits: Int, savedUSD: Double, savedTokens: Int) {
        self.purpose = purpose
        self.lookups = lookups
        self.hits = hits
        self.semanticHits = semanticHits
        self.savedUSD = savedUSD
        self.savedTokens = savedTokens
    }
}

/// The response cache's durable tier, shared by every node on the store.
public protocol CacheStore: Sendable {
    /// The entry under `key` if it has not expired at `now`.
    func cacheGet(_ key: String, now: Date) async throws -> CacheEntry?
    /// Writes entries; an existing key is replaced.
    func cachePut(_ entries: [CacheEntry]) async throws
    /// The newest unexpired entries of one semantic scope that have an embedding, at most `limit`.
    func cacheScope(_ scope: String, now: Date, limit: Int) async throws -> [CacheEntry]
    /// Deletes entries expired at `now`; returns how many.
    func cachePurge(expiredAt now: Date) async throws -> Int
    /// Deletes every entry of a purpose (all purposes when `nil`); returns how many.
    func cacheClear(purpose: String?) async throws -> Int
    /// How many entries and body bytes the store holds per purpose.
    func cacheSizes() async throws -> [String: (entries: Int, bytes: Int)]
    /// Per purpose, from call records created at or after `since`: lookups
    /// (`cache` in hit, semantic_hit, miss), hits, semantic hits, and the dollars and tokens hits saved.
    func cacheUsage(since: Date) async throws -> [CacheUsageRow]
}
