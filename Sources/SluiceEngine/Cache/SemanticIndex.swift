import Synchronization

/// In-process vector search over cached inputs, one bounded list per scope.
/// Vectors are unit length, so cosine similarity is a dot product.
final class SemanticIndex: Sendable {
    private struct Scope {
        var keys: [String] = []
        var vectors: [[Float]] = []
        var loaded = false
    }

    private let scopes = Mutex([String: Scope]())

    /// Whether `scope` was filled from the store already.
    func isLoaded(_ scope: String) -> Bool { scopes.withLock { $0[scope]?.loaded ?? false } }

    /// Fills `scope` from stored entries (newest first), keeping what was added meanwhile.
    func load(_ scope: String, entries: [(key: String, vector: [Float])], limit: Int) {
        scopes.withLock { all in
            var s = all[scope] ?? Scope()
            guard !s.loaded else { return }
            let known = Set(s.keys)
            for e in entries.reversed() where !known.contains(e.key) {
                s.keys.insert(e.key, at: 0)
                s.vectors.insert(e.vector, at: 0)
            }
            Self.trim(&s, limit: limit)
            s.loaded = true
            all[scope] = s
        }
    }

    /// Adds one input; the oldest goes when the scope is full.
    func add(_ scope: String, key: String, vector: [Float], limit: Int) {
        scopes.withLock { all in
            var s = all[scope] ?? Scope()
            if let i = s.keys.firstIndex(of: key) {
                s.keys.remove(at: i)
                s.vectors.remove(at: i)
            }
            s.keys.append(key)
            s.vectors.append(vector)
            Self.trim(&s, limit: limit)
            all[scope] = s
        }
    }

    /// Drops `key` from `scope` (its entry expired or vanished).
    func remove(_ scope: String, key: String) {
        scopes.withLock { all in
            guard var s = all[scope], let i = s.keys.firstIndex(of: key) else { return }
            s.keys.remove(at: i)
            s.vectors.remove(at: i)
            all[scope] = s
        }
    }

    /// The most similar inputs of `scope` at or above `threshold`, best first.
    func search(_ scope: String, vector: [Float], threshold: Double, limit: Int = 3) -> [(key: String, similarity: Double)] {
        let (keys, vectors) = scopes.withLock { all in (all[scope]?.keys ?? [], all[scope]?.vectors ?? []) }
        var hits: [(key: String, similarity: Double)] = []
        for (i, v) in vectors.enumerated() {
            let sim = Double(Self.dot(v, vector))
            if sim >= threshold { hits.append((keys[i], sim)) }
        }
        return Array(hits.sorted { $0.similarity > $1.similarity }.prefix(limit))
    }

    private static func trim(_ s: inout Scope, limit: Int) {
        let over = s.keys.count - max(1, limit)
        if over > 0 {
            s.keys.removeFirst(over)
            s.vectors.removeFirst(over)
        }
    }

    /// The dot product, eight lanes at a time.
    static func dot(_ a: [Float], _ b: [Float]) -> Float {
        let n = min(a.count, b.count)
        return a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                var acc = SIMD8<Float>()
                var i = 0
                while i + 8 <= n {
                    let x = SIMD8<Float>(pa[i..<(i + 8)])
                    let y = SIMD8<Float>(pb[i..<(i + 8)])
                    acc += x * y
                    i += 8
                }
                var sum = acc.sum()
                while i < n {
                    sum += pa[i] * pb[i]
                    i += 1
                }
                return sum
            }
        }
    }

    /// `v` scaled to unit length; `nil` for a zero vector.
    static func normalized(_ v: [Float]) -> [Float]? {
        let norm = dot(v, v).squareRoot()
        guard norm > 0, norm.isFinite else { return nil }
        return v.map { $0 / norm }
    }
}
