import Foundation
import SluiceCore
import SluiceTesting
import Testing

/// Whether `python3` can import PyJWT with its RSA support, which the Vertex fake's token
/// endpoint uses to verify every JWT Sluice signs. CI installs it (`.ci/run`); without it
/// locally the Vertex end-to-end tests are skipped (in CI they run and fail instead).
let pythonHasPyJWT: Bool = {
    guard let python = ChildProcess.which("python3"),
        let p = try? ChildProcess(
            executable: python, arguments: ["-c", "import jwt, cryptography; jwt.algorithms.RSAAlgorithm"],
            environment: ProcessInfo.processInfo.environment)
    else { return false }
    return p.waitUntilExit() == 0
}()

/// The Vertex tests run where PyJWT is, and always in CI.
let vertexTestsEnabled = pythonHasPyJWT || runningInCI

/// The project, location and models the Vertex fakes expect.
enum VertexFixture {
    static let project = "sluice-test-project"
    static let location = "us-central1"
    static let gemini = "gemini-2.5-flash"
    static let claude = "claude-3-5-haiku@20241022"

    /// A vertex provider entry at `upstream`: a service-account key file whose `token_uri` is
    /// the fake's token endpoint (the account registered there), or a static `accessToken`.
    /// `signingKey` puts another private key in the file (a JWT the fake cannot verify).
    static func provider(
        _ upstream: FakeUpstream, account: TestServiceAccount = .shared, signingKey: String? = nil, accessToken: String? = nil
    ) throws -> String {
        let ca = upstream.caFile.map { #", ca_file: "\#($0)""# } ?? ""
        let common = #"type: vertex, project: \#(project), location: \#(location), base_url: "\#(upstream.origin)"\#(ca)"#
        if let accessToken {
            upstream.vertex.allowStaticToken(accessToken)
            return #"{ \#(common), access_token: "\#(accessToken)" }"#
        }
        upstream.vertex.register(account)
        let file = try account.keyFile(tokenURI: upstream.origin + FakeVertexAuth.tokenPath, signingKey: signingKey)
        return #"{ \#(common), credentials_file: "\#(file)" }"#
    }

    /// The path of a publisher operation (`generateContent`, `rawPredict`…) for `model` on the fake.
    static func path(_ model: String, _ operation: String) -> String {
        let publisher = model.hasPrefix("claude-") ? "anthropic" : "google"
        return "/v1/projects/\(project)/locations/\(location)/publishers/\(publisher)/models/\(model):\(operation)"
    }

    /// The publisher requests `upstream` received (token requests left out).
    static func calls(_ upstream: FakeUpstream) -> [FakeUpstream.Received] {
        upstream.received.filter { $0.path.contains("/publishers/") }
    }
}
