import SluiceCore

/// An incremental decoder of AWS event-stream frames (`application/vnd.amazon.eventstream`),
/// fed arbitrary chunks of the body:
///
/// ```
/// total length u32 | headers length u32 | prelude CRC32 u32 | headers | payload | message CRC32 u32
/// ```
///
/// Each header is a name (u8 length, bytes), a type byte and a value whose size the type gives
/// (strings and byte arrays carry a u16 length). Both CRCs are checked; a mismatch, an impossible
/// length or a malformed header throws, and the stream cannot be trusted after it.
struct EventStreamDecoder {
    /// One decoded frame.
    struct Message: Equatable {
        /// The string headers (`:event-type`, `:message-type`, `:exception-type`, `:content-type`…);
        /// headers of other types are skipped.
        var headers: [String: String]
        /// The payload bytes (JSON for Bedrock).
        var payload: [UInt8]
    }

    /// Why the bytes are not a valid frame.
    struct Failure: Error, Equatable, CustomStringConvertible {
        var description: String
    }

    /// The largest frame accepted (AWS caps messages at 16 MiB; headers at 128 KiB).
    static let maxFrameBytes = 16 * 1024 * 1024 + 128 * 1024 + 16

    private var buffer: [UInt8] = []
    private var start = 0

    /// Appends body bytes.
    mutating func feed(_ bytes: some Sequence<UInt8>) {
        if start > 0, start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Bytes received but not yet part of a whole frame.
    var pendingBytes: Int { buffer.count - start }

    /// The next whole frame, or `nil` until more bytes arrive; throws on a corrupt frame.
    mutating func next() throws(Failure) -> Message? {
        let available = buffer.count - start
        guard available >= 12 else { return nil }
        let total = Int(Self.u32(buffer, start))
        let headersLength = Int(Self.u32(buffer, start + 4))
        let preludeCRC = Self.u32(buffer, start + 8)
        guard CRC32.checksum(buffer[start..<start + 8]) == preludeCRC else {
            throw Failure(description: "event-stream prelude CRC mismatch")
        }
        guard total >= 16, total <= Self.maxFrameBytes, headersLength <= total - 16 else {
            throw Failure(description: "event-stream frame of impossible length (total \(total), headers \(headersLength))")
        }
        guard available >= total else { return nil }
        let end = start + total
        let messageCRC = Self.u32(buffer, end - 4)
        guard CRC32.checksum(buffer[start..<end - 4]) == messageCRC else {
            throw Failure(description: "event-stream message CRC mismatch")
        }
        let headers = try Self.headers(buffer[start + 12..<start + 12 + headersLength])
        let payload = Array(buffer[start + 12 + headersLength..<end - 4])
        start = end
        return Message(headers: headers, payload: payload)
    }

    static func u32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }

    /// The string headers of a header block; the other types are skipped by their sizes.
    static func headers(_ block: ArraySlice<UInt8>) throws(Failure) -> [String: String] {
        var out: [String: String] = [:]
        var i = block.startIndex
        func need(_ n: Int) throws(Failure) {
            guard block.endIndex - i >= n else { throw Failure(description: "event-stream header block is truncated") }
        }
        while i < block.endIndex {
            try need(1)
            let nameLength = Int(block[i])
            i += 1
            try need(nameLength + 1)
            let name = String(decoding: block[i..<i + nameLength], as: UTF8.self)
            i += nameLength
            let type = block[i]
            i += 1
            switch type {
            case 0, 1: break  // bool true / false: no value
            case 2: try need(1); i += 1  // byte
            case 3: try need(2); i += 2  // short
            case 4: try need(4); i += 4  // int
            case 5, 8: try need(8); i += 8  // long, timestamp
            case 9: try need(16); i += 16  // uuid
            case 6, 7:  // byte array, string
                try need(2)
                let length = Int(block[i]) << 8 | Int(block[i + 1])
                i += 2
                try need(length)
                if type == 7 { out[name] = String(decoding: block[i..<i + length], as: UTF8.self) }
                i += length
            default:
                throw Failure(description: "event-stream header '\(name)' has unknown type \(type)")
            }
        }
        return out
    }
}
