import Synchronization

/// A least-recently-used map bounded by the bytes of its values. Thread-safe.
final class ByteLRU<Value: Sendable>: Sendable {
    private struct Node {
        var key: String
        var value: Value
        var bytes: Int
        var prev: Int
        var next: Int
    }

    private struct State {
        var index: [String: Int] = [:]
        var nodes: [Node] = []
        var free: [Int] = []
        var head = -1  // most recent
        var tail = -1  // least recent
        var bytes = 0

        mutating func unlink(_ i: Int) {
            let (p, n) = (nodes[i].prev, nodes[i].next)
            if p >= 0 { nodes[p].next = n } else { head = n }
            if n >= 0 { nodes[n].prev = p } else { tail = p }
        }

        mutating func pushFront(_ i: Int) {
            nodes[i].prev = -1
            nodes[i].next = head
            if head >= 0 { nodes[head].prev = i }
            head = i
            if tail < 0 { tail = i }
        }

        mutating func remove(_ i: Int) {
            unlink(i)
            index.removeValue(forKey: nodes[i].key)
            bytes -= nodes[i].bytes
            free.append(i)
        }
    }

    private let state = Mutex(State())
    /// The most bytes held; 0 holds nothing.
    let capacity: Int

    init(capacity: Int) { self.capacity = max(0, capacity) }

    /// The value under `key`, now the most recently used.
    func get(_ key: String) -> Value? {
        state.withLock { s in
            guard let i = s.index[key] else { return nil }
            s.unlink(i)
            s.pushFront(i)
            return s.nodes[i].value
        }
    }

    /// Stores `value`, evicting the least recently used until it fits; a value larger than the capacity is not kept.
    func set(_ key: String, _ value: Value, bytes: Int) {
        state.withLock { s in
            if let i = s.index[key] { s.remove(i) }
            guard bytes <= capacity else { return }
            while s.bytes + bytes > capacity, s.tail >= 0 { s.remove(s.tail) }
            let node = Node(key: key, value: value, bytes: bytes, prev: -1, next: -1)
            let i: Int
            if let f = s.free.popLast() {
                s.nodes[f] = node
                i = f
            } else {
                s.nodes.append(node)
                i = s.nodes.count - 1
            }
            s.index[key] = i
            s.pushFront(i)
            s.bytes += bytes
        }
    }

    /// Drops `key`.
    func remove(_ key: String) {
        state.withLock { s in if let i = s.index[key] { s.remove(i) } }
    }

    /// Drops everything for which `drop` is true.
    func removeAll(where drop: (Value) -> Bool) {
        state.withLock { s in
            for (_, i) in s.index where drop(s.nodes[i].value) { s.remove(i) }
        }
    }

    /// Entries and bytes held.
    var usage: (count: Int, bytes: Int) { state.withLock { ($0.index.count, $0.bytes) } }
}
