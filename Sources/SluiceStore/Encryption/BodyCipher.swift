import Crypto
import Foundation

/// Encrypts stored request and response bodies with AES-256-GCM: the call log's `request_body`
/// and `output`, cache entries' `body` and `embedding`, idempotent responses' `body`, tasks'
/// `request`, `result` and `error_message`, batch items' `body`, reviews' `output`,
/// `edited_output` and `note`, and stored Responses API responses' `request`, `input_items`,
/// `output_items` and `response`.
///
/// A sealed text value is the text `enc:v1:` followed by the base64 of nonce, ciphertext and tag;
/// a sealed binary value (cache `body` and `embedding`) is the bytes of `enc:v1:` followed by
/// nonce, ciphertext and tag. Every value gets a fresh random nonce. A value without the prefix
/// is plaintext written before a key was set and is read as is.
public struct BodyCipher: Sendable {
    /// What marks a sealed value.
    public static let prefix = "enc:v1:"
    /// What a sealed value reads as when the key is missing or wrong.
    public static let unreadable = "[encrypted: storage.encryption_key missing or wrong]"

    let key: EncryptionKey

    /// A cipher with `key`.
    public init(key: EncryptionKey) { self.key = key }

    /// `text` sealed as `enc:v1:…`.
    public func seal(_ text: String) -> String {
        Self.prefix + combined(Data(text.utf8)).base64EncodedString()
    }

    /// `bytes` sealed as the bytes of `enc:v1:` followed by nonce, ciphertext and tag.
    public func seal(bytes: [UInt8]) -> [UInt8] {
        Self.prefixBytes + combined(Data(bytes))
    }

    /// Nonce, ciphertext and tag of `plain` under a fresh nonce.
    private func combined(_ plain: Data) -> Data {
        // AES-GCM only fails for a wrong key or nonce size, which the types rule out.
        guard let combined = try? AES.GCM.seal(plain, using: key.key).combined else {
            preconditionFailure("AES-GCM sealing failed")
        }
        return combined
    }

    /// The plaintext of a sealed value, or `nil` when this key cannot open it.
    public func open(sealed text: String) -> String? {
        guard text.hasPrefix(Self.prefix),
            let data = Data(base64Encoded: String(text.dropFirst(Self.prefix.count))),
            let box = try? AES.GCM.SealedBox(combined: data),
            let plain = try? AES.GCM.open(box, using: key.key)
        else { return nil }
        return String(decoding: plain, as: UTF8.self)
    }

    /// The plaintext of a sealed binary value, or `nil` when this key cannot open it.
    public func open(sealedBytes bytes: [UInt8]) -> [UInt8]? {
        guard Self.isSealed(bytes), let box = try? AES.GCM.SealedBox(combined: Data(bytes.dropFirst(Self.prefixBytes.count))),
            let plain = try? AES.GCM.open(box, using: key.key)
        else { return nil }
        return [UInt8](plain)
    }

    /// The prefix as bytes, for binary columns.
    static let prefixBytes = Array(prefix.utf8)

    /// Whether a binary value is sealed (starts with `enc:v1:`).
    static func isSealed(_ bytes: [UInt8]) -> Bool { bytes.starts(with: prefixBytes) }

    /// `text` sealed when there is a cipher, unchanged otherwise.
    static func seal(_ text: String?, with cipher: BodyCipher?) -> String? {
        guard let text, let cipher else { return text }
        return cipher.seal(text)
    }

    /// A stored value as read: plaintext as is, a sealed value opened, or ``unreadable``
    /// when there is no cipher or it holds another key.
    static func open(_ text: String?, with cipher: BodyCipher?) -> String? {
        guard let text, text.hasPrefix(prefix) else { return text }
        return cipher?.open(sealed: text) ?? unreadable
    }

    /// `bytes` sealed when there is a cipher, unchanged otherwise.
    static func seal(_ bytes: [UInt8], with cipher: BodyCipher?) -> [UInt8] {
        guard let cipher else { return bytes }
        return cipher.seal(bytes: bytes)
    }

    /// A stored binary value as read: plaintext as is, a sealed value opened, or `nil` when
    /// there is no cipher or it holds another key (binary values have no placeholder).
    static func open(_ bytes: [UInt8], with cipher: BodyCipher?) -> [UInt8]? {
        guard isSealed(bytes) else { return bytes }
        return cipher?.open(sealedBytes: bytes)
    }
}
