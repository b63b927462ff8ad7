import Foundation
import SluiceCore

extension SluiceConfig {
    /// A purpose's `cache:` setting.
    public struct CachePolicy: Sendable, Equatable {
        /// How long an answer is served from the cache.
        public var ttlSeconds: Double
        /// Whether similar (not only identical) inputs may be served.
        public var semantic = false
        /// The cosine similarity (0…1) a semantic hit needs.
        public var threshold = 0.95
        /// The configured model that embeds inputs for semantic search.
        public var embeddingModel: String?
        /// The most entries one semantic scope keeps in memory for search.
        public var maxEntries = 10_000

        /// A policy with this TTL and no semantic search.
        public init(ttlSeconds: Double) { self.ttlSeconds = ttlSeconds }
    }

    /// A purpose's `pii:` mode.
    public enum PIIMode: String, Sendable { case off, redact, block }

    /// How a purpose's durable tasks run (its sync calls are always direct).
    public enum PurposeMode: String, Sendable {
        /// Each task is one direct call, run by a task worker.
        case sync
        /// Tasks collect for `tasks.batch_interval_s` and go to the provider's batch API together, at batch prices.
        case batch
    }

    /// When a purpose's outputs are held for a person.
    public enum ReviewWhen: String, Sendable { case never, always, schemaInvalid = "schema_invalid", guardFlagged = "guard_flagged" }

    /// The top-level `cache:` section.
    public struct Cache: Sendable, Equatable {
        /// The in-memory tier's bound in bytes (the store keeps everything until it expires).
        public var maxBytes = 64 << 20
        /// The TTL of raw chat calls that opt in with `X-Sluice-Cache` and whose purpose sets none.
        public var defaultTTLSeconds = 3600.0
        /// The defaults: 64 MiB in memory, 1 h for opted-in raw calls.
        public init() {}
    }

    /// The purposes whose tasks run in batch mode, sorted.
    public var batchPurposes: [String] { purposes.filter { $0.value.mode == .batch }.keys.sorted() }

    /// Parses `90s`, `30m`, `1h`, `7d`, `2w` (or plain seconds) into seconds; `nil` when it is not one.
    public static func duration(_ text: String) -> Double? { seconds(text) }

    /// Parses `90s`, `30m`, `1h`, `7d`, `2w` (or plain seconds) into seconds.
    static func seconds(_ text: String) -> Double? {
        if let n = Double(text), n > 0 { return n }
        guard let d = SinceParser.parse(text, now: Date(timeIntervalSince1970: 4e9)) else { return nil }
        let s = 4e9 - d.timeIntervalSince1970
        return s > 0 ? s : nil
    }
}
