import Foundation
import SluiceCore
import _CryptoExtras

/// A Google service account made at test time: an RSA key generated in the process, and its
/// JSON key file (the shape Google's console downloads) written to a temp directory.
///
/// ```swift
/// let account = TestServiceAccount.shared
/// let file = try account.keyFile(tokenURI: upstream.origin + FakeVertexAuth.tokenPath)
/// upstream.vertex.register(account)     // the fake's token endpoint now verifies its JWTs
/// // providers: { gcp: { type: vertex, project: p, location: us-central1, credentials_file: "\(file)" } }
/// ```
public struct TestServiceAccount: Sendable {
    /// `client_email`.
    public let clientEmail: String
    /// `private_key_id`, the JWTs' `kid`.
    public let privateKeyID: String
    /// `project_id`.
    public let projectID: String
    /// The private key, PKCS#8 PEM, as key files hold it.
    public let privateKeyPEM: String
    /// The public key, SubjectPublicKeyInfo PEM, for verifiers.
    public let publicKeyPEM: String

    /// One account for the whole test process (an RSA key takes a moment to make).
    public static let shared = try! TestServiceAccount(name: "sluice-test")

    /// Another account with its own key: register ``shared`` at a fake and sign with this
    /// one's key to see a signature refused.
    public static let stranger = try! TestServiceAccount(name: "sluice-stranger")

    /// A new account `name@sluice-test-project.iam.gserviceaccount.com` with a fresh 2048-bit key.
    public init(name: String) throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        clientEmail = "\(name)@sluice-test-project.iam.gserviceaccount.com"
        privateKeyID = "kid-" + name + "-" + UUID().uuidString.prefix(8).lowercased()
        projectID = "sluice-test-project"
        privateKeyPEM = key.pkcs8PEMRepresentation
        publicKeyPEM = key.publicKey.pemRepresentation
    }

    /// The key file's JSON for `tokenURI`; `signingKey` replaces the private key (to sign with another account's key).
    public func json(tokenURI: String, signingKey: String? = nil) -> JSON {
        [
            "type": "service_account", "project_id": .string(projectID), "private_key_id": .string(privateKeyID),
            "private_key": .string(signingKey ?? privateKeyPEM), "client_email": .string(clientEmail),
            "client_id": "100000000000000000001", "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": .string(tokenURI),
        ]
    }

    /// Writes the key file for `tokenURI` to a new temp file; its path.
    public func keyFile(tokenURI: String, signingKey: String? = nil) throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("sluice-sa-\(UUID().uuidString).json").path
        try Data(json(tokenURI: tokenURI, signingKey: signingKey).serialized()).write(to: URL(fileURLWithPath: path))
        return path
    }
}
