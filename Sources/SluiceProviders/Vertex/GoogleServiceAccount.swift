import Foundation
import SluiceCore
import _CryptoExtras

/// A Google service-account key file (what `credentials_file` or `GOOGLE_APPLICATION_CREDENTIALS`
/// names): the account's email, its RSA private key, and the token endpoint that exchanges a
/// JWT signed with that key for an OAuth access token (the JWT bearer flow, RFC 7523).
///
/// The private key is held only to sign; it never appears in a description or an error.
public struct GoogleServiceAccount: Sendable {
    /// Why a key file cannot be used, saying what to fix; it never quotes the key.
    public struct LoadError: Error, Sendable, CustomStringConvertible {
        /// What is wrong with the file.
        public var description: String
    }

    /// The OAuth scope Vertex AI needs.
    public static let scope = "https://www.googleapis.com/auth/cloud-platform"
    /// The token endpoint when the file names none.
    public static let defaultTokenURI = "https://oauth2.googleapis.com/token"
    /// How long a signed assertion is valid (Google's maximum).
    public static let assertionLifetime: TimeInterval = 3600

    /// `client_email`: the account, the JWT's issuer.
    public var clientEmail: String
    /// `private_key_id`: the JWT header's `kid`, when the file has one.
    public var privateKeyID: String?
    /// `token_uri`: where assertions are exchanged, and the JWT's audience.
    public var tokenURI: String
    /// `project_id`: the project the account belongs to, when the file says.
    public var projectID: String?
    let key: _RSA.Signing.PrivateKey

    /// Reads and checks the key file at `path`.
    public static func load(path: String) throws(LoadError) -> GoogleServiceAccount {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoadError(description: "cannot read '\(path)' (does it exist, and may Sluice's user read it?)")
        }
        return try GoogleServiceAccount(json: Array(data), source: "'\(path)'")
    }

    /// The account in a key file's JSON; `source` names the file in errors.
    public init(json bytes: [UInt8], source: String) throws(LoadError) {
        guard let obj = (try? JSON.parse(bytes))?.objectValue else {
            throw LoadError(description: "\(source) is not JSON: expected a service-account key file (IAM → Service accounts → Keys → Add key → JSON)")
        }
        let type = obj["type"]?.stringValue
        guard type == "service_account" else {
            let what = type.map { "a credential of type '\($0)'" } ?? "not a service-account key (it has no \"type\")"
            throw LoadError(
                description: "\(source) is \(what): Sluice needs a service-account key file (\"type\": \"service_account\"); "
                    + "for user credentials from `gcloud auth application-default login`, set access_token to "
                    + "`gcloud auth print-access-token` instead")
        }
        guard let email = obj["client_email"]?.stringValue, !email.isEmpty else {
            throw LoadError(description: "\(source) has no client_email")
        }
        guard let pem = obj["private_key"]?.stringValue, !pem.isEmpty else {
            throw LoadError(description: "\(source) has no private_key")
        }
        guard pem.contains("-----BEGIN") else {
            throw LoadError(description: "\(source): private_key is not a PEM key (expected -----BEGIN PRIVATE KEY-----)")
        }
        do {
            key = try _RSA.Signing.PrivateKey(pemRepresentation: pem)
        } catch {
            throw LoadError(
                description: "\(source): private_key is not a PEM RSA private key of 2048 bits or more (download a new JSON key for \(email))")
        }
        let tokenURI = obj["token_uri"]?.stringValue ?? Self.defaultTokenURI
        guard tokenURI.hasPrefix("https://") || tokenURI.hasPrefix("http://") else {
            throw LoadError(description: "\(source): token_uri '\(tokenURI)' is not an http(s) URL")
        }
        clientEmail = email
        privateKeyID = obj["private_key_id"]?.stringValue
        self.tokenURI = tokenURI
        projectID = obj["project_id"]?.stringValue
    }

    /// The JWT assertion for the token endpoint at `now`: header `{"alg":"RS256","typ":"JWT","kid":…}`,
    /// claims `iss`, `scope`, `aud` (the token URI), `iat` and `exp` (an hour later), signed
    /// with RSASSA-PKCS1-v1_5 over SHA-256.
    public func assertion(at now: Date) throws(LoadError) -> String {
        var header: JSONObject = ["alg": "RS256", "typ": "JWT"]
        if let privateKeyID { header["kid"] = .string(privateKeyID) }
        let iat = Int(now.timeIntervalSince1970)
        let claims: JSONObject = [
            "iss": .string(clientEmail), "scope": .string(Self.scope), "aud": .string(tokenURI),
            "iat": .int(iat), "exp": .int(iat + Int(Self.assertionLifetime)),
        ]
        let input = Self.base64URL(JSON.object(header).serialized()) + "." + Self.base64URL(JSON.object(claims).serialized())
        do {
            let signature = try key.signature(for: Array(input.utf8), padding: .insecurePKCS1v1_5)
            return input + "." + Self.base64URL(Array(signature.rawRepresentation))
        } catch {
            throw LoadError(description: "signing the token request for \(clientEmail) failed")
        }
    }

    /// Unpadded base64url (RFC 7515 §2).
    static func base64URL(_ bytes: [UInt8]) -> String {
        var s = Data(bytes).base64EncodedString()
        s = s.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while s.hasSuffix("=") { s.removeLast() }
        return s
    }
}
