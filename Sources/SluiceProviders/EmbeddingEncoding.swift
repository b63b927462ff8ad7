import Foundation

/// Encodings of embedding vectors on the OpenAI wire.
enum EmbeddingEncoding {
    /// OpenAI's `encoding_format: base64` form of a vector: little-endian float32s, base64-encoded.
    static func base64(_ values: [Double]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 4)
        for x in values { withUnsafeBytes(of: Float(x).bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        return Data(bytes).base64EncodedString()
    }
}
