import Crypto
import Foundation

/// The 256-bit key of `storage.encryption_key`. Printing it never shows the key.
public struct EncryptionKey: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    let key: SymmetricKey

    /// A key from the base64 text of exactly 32 bytes, or a message naming what is wrong
    /// (the message never contains the text).
    public static func parse(base64 text: String) -> Result<EncryptionKey, StorageURLError> {
        let howTo = "make one with `openssl rand -base64 32`"
        guard let bytes = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            return .failure(StorageURLError(message: "encryption_key is not valid base64; \(howTo)"))
        }
        guard bytes.count == 32 else {
            return .failure(StorageURLError(message: "encryption_key must be 32 bytes (base64), got \(bytes.count); \(howTo)"))
        }
        return .success(EncryptionKey(key: SymmetricKey(data: bytes)))
    }

    /// A new random key (tests, key generation).
    public static func random() -> EncryptionKey { EncryptionKey(key: SymmetricKey(size: .bits256)) }

    /// The key as base64, for writing a config; never logged.
    public var base64: String { key.withUnsafeBytes { Data($0).base64EncodedString() } }

    /// Equal when the key bytes are equal.
    public static func == (a: EncryptionKey, b: EncryptionKey) -> Bool { a.key == b.key }

    /// `[redacted]`.
    public var description: String { "[redacted]" }
    /// `[redacted]`.
    public var debugDescription: String { description }
    /// Only the redacted form, so `dump` and debuggers never show the key.
    public var customMirror: Mirror { Mirror(self, children: ["key": description], displayStyle: .struct) }
}
