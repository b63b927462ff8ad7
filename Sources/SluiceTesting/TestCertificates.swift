import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import X509

/// A private certificate authority made at test time, and a server certificate it
/// signed for `localhost` and `127.0.0.1`, for TLS upstreams in tests.
///
/// The CA's certificate is written to ``caFile`` (PEM), which a provider's `ca_file`
/// can name. Nothing of it is trusted by the system, so a client that does not load
/// ``caFile`` fails to verify the server.
///
/// ```swift
/// let certs = TestCertificates.shared
/// let upstream = try await FakeUpstream.start(tls: true)   // serves certs' leaf
/// // providers: { p: { type: openai_compatible, base_url: "\(upstream.baseURL)", ca_file: "\(certs.caFile)" } }
/// ```
public struct TestCertificates: Sendable {
    /// The CA certificate, PEM.
    public let caPEM: String
    /// A temp file holding ``caPEM``.
    public let caFile: String
    /// The server (leaf) certificate, PEM: CN `localhost`, SANs `DNS:localhost` and `IP:127.0.0.1`.
    public let certificatePEM: String
    /// The leaf's P-256 private key, PEM (PKCS#8).
    public let privateKeyPEM: String

    /// One CA and leaf for the whole test process.
    public static let shared: TestCertificates = {
        do { return try TestCertificates() } catch { fatalError("cannot make test certificates: \(error)") }
    }()

    /// A new CA (a fresh P-256 key) and a leaf it signed, valid from an hour ago for 30 days.
    public init() throws {
        let now = Date()
        let caKey = P256.Signing.PrivateKey()
        let caKeyID = SubjectKeyIdentifier(hash: .init(caKey.publicKey))
        let caName = try DistinguishedName {
            OrganizationName("Sluice tests")
            CommonName("Sluice Test CA \(UInt32.random(in: .min ... .max))")
        }
        let ca = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 30 * 86400,
            issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                caKeyID
            },
            issuerPrivateKey: .init(caKey))

        let leafKey = P256.Signing.PrivateKey()
        let leafName = try DistinguishedName { CommonName("localhost") }
        let leaf = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(leafKey.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 30 * 86400,
            issuer: caName, subject: leafName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames([.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
                AuthorityKeyIdentifier(keyIdentifier: caKeyID.keyIdentifier)
            },
            issuerPrivateKey: .init(caKey))

        caPEM = try ca.serializeAsPEM().pemString
        certificatePEM = try leaf.serializeAsPEM().pemString
        privateKeyPEM = leafKey.pemRepresentation
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-test-ca-\(UUID().uuidString).pem").path
        try Data((caPEM + "\n").utf8).write(to: URL(fileURLWithPath: path))
        caFile = path
    }

    /// A TLS server configuration presenting the leaf certificate.
    public func serverConfiguration() throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8))
        let key = try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem)
        return TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
    }
}
