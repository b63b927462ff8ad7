import Crypto
import Foundation

/// Encrypts stored bodies (the call log's `request_body` and `output`) with AES-256-GCM.
///
/// A sealed value is the text `enc:v1:` followed by the base64 of nonce, ciphertext and tag;
/// every value gets a fresh random nonce. Text without the prefix is plaintext written before
/// a key was set and is read as is.
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
        // AES-GCM only fails for a wrong key or nonce size, which the types rule out.
        guard let combined = try? AES.GCM.seal(Data(text.utf8), using: key.key).combined else {
            preconditionFailure("AES-GCM sealing failed")
        }
        return Self.prefix + combined.base64EncodedString()
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
}
