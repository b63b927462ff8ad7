import SluiceCore
import Synchronization

/// Compiled schemas keyed by the canonical bytes of their document, so a
/// schema that arrives again (in any key order) is compiled only once.
/// Safe to share between tasks.
///
/// ```swift
/// let cache = JSONSchemaCache()
/// let schema = try cache.schema(for: responseFormatSchema)
/// ```
public final class JSONSchemaCache: Sendable {
    private struct State {
        var schemas: [[UInt8]: JSONSchema] = [:]
        var compilations = 0
    }

    private let state = Mutex(State())
    /// The most schemas kept; when full, the cache is cleared and starts over.
    public let capacity: Int

    /// An empty cache holding at most `capacity` schemas.
    public init(capacity: Int = 1024) {
        self.capacity = max(1, capacity)
    }

    /// The compiled schema for `json`, compiling it on first request.
    /// Throws ``SchemaError`` if it does not compile (failures are not cached).
    public func schema(for json: JSON) throws(SchemaError) -> JSONSchema {
        let key = json.canonicalBytes
        if let cached = state.withLock({ $0.schemas[key] }) { return cached }
        // Compiled outside the lock: two tasks racing on a new schema may both
        // compile it; the first to finish is kept.
        let schema = try JSONSchema(json)
        return state.withLock { state in
            state.compilations += 1
            if let cached = state.schemas[key] { return cached }
            if state.schemas.count >= capacity { state.schemas.removeAll(keepingCapacity: true) }
            state.schemas[key] = schema
            return schema
        }
    }

    /// How many times this cache has compiled a schema; a request served from the cache does not count.
    public var compilations: Int { state.withLock { $0.compilations } }

    /// How many compiled schemas are held.
    public var count: Int { state.withLock { $0.schemas.count } }
}
