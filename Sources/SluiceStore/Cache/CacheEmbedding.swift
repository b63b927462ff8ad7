/// How both backends store a ``CacheEntry/embedding``: little-endian IEEE 754
/// float32 values, four bytes each, in order.
enum CacheEmbedding {
    /// The vector as little-endian float32 bytes.
    static func bytes(_ vector: [Float]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(vector.count * 4)
        for v in vector {
            let bits = v.bitPattern
            out.append(UInt8(truncatingIfNeeded: bits))
            out.append(UInt8(truncatingIfNeeded: bits >> 8))
            out.append(UInt8(truncatingIfNeeded: bits >> 16))
            out.append(UInt8(truncatingIfNeeded: bits >> 24))
        }
        return out
    }

    /// The vector stored in `bytes`; a trailing partial value is ignored.
    static func vector<C: Collection>(_ bytes: C) -> [Float] where C.Element == UInt8 {
        var out: [Float] = []
        out.reserveCapacity(bytes.count / 4)
        var bits: UInt32 = 0
        var n = 0
        for b in bytes {
            bits |= UInt32(b) << (8 * UInt32(n))
            n += 1
            if n == 4 {
                out.append(Float(bitPattern: bits))
                bits = 0
                n = 0
            }
        }
        return out
    }
}
