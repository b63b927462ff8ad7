import Foundation
import SluiceCore
import Synchronization

/// Google's OAuth token endpoint and Vertex AI's access check, for ``FakeUpstream``.
///
/// `POST /token` takes the JWT bearer grant (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`,
/// `assertion=JWT`). The assertion is checked by **PyJWT** (`jwt.decode` with the registered
/// account's public key, `RS256` only, the token URI as audience), a library Sluice did not
/// write, run with `python3`; then the issuer, scope, `kid` and lifetime are compared. An
/// assertion that does not verify gets `400 invalid_grant`, as Google answers; one that does
/// gets a new access token.
///
/// Vertex AI's publisher routes (`…/publishers/{google,anthropic}/models/…`) answer `401
/// UNAUTHENTICATED` unless the request carries a token this endpoint issued (or one added
/// with ``allowStaticToken(_:)``), and Claude's `rawPredict` refuses a body that names a
/// `model` or lacks `anthropic_version: vertex-2023-10-16`.
public final class FakeVertexAuth: Sendable {
    /// The token endpoint's path on the fake (a key file's `token_uri` is `origin + tokenPath`).
    public static let tokenPath = "/token"

    struct Account {
        var email: String
        var kid: String
        var publicKeyPEM: String
    }

    struct State {
        var accounts: [String: Account] = [:]
        var issued: Set<String> = []
        var tokenRequests = 0
        var rejections: [String] = []
        var expiresIn = 3599
        var tokenFailures: [Int] = []
        var tokenDelayMs = 0
        var clock: (any WallClock)?
    }

    private let state = Mutex(State())

    init() {}

    /// Trusts `account`'s public key for JWTs that name it as issuer.
    public func register(_ account: TestServiceAccount) {
        state.withLock {
            $0.accounts[account.clientEmail] = Account(email: account.clientEmail, kid: account.privateKeyID, publicKeyPEM: account.publicKeyPEM)
        }
    }

    /// Accepts `token` on the publisher routes as if this endpoint had issued it (`access_token:` configs).
    public func allowStaticToken(_ token: String) { state.withLock { _ = $0.issued.insert(token) } }

    /// The `expires_in` of the tokens it issues from now on (default 3599).
    public func setExpiresIn(_ seconds: Int) { state.withLock { $0.expiresIn = seconds } }

    /// Answers the next token requests with these statuses (500, 400…) instead of verifying them.
    public func failTokenRequests(_ statuses: Int...) { state.withLock { $0.tokenFailures += statuses } }

    /// Delays every token answer (so that concurrent calls overlap one fetch).
    public func setTokenDelay(ms: Int) { state.withLock { $0.tokenDelayMs = ms } }

    /// The clock Sluice signs with, when it is not the real one: the verifier's leeway covers the difference.
    public func setClock(_ clock: any WallClock) { state.withLock { $0.clock = clock } }

    /// How many token requests arrived.
    public var tokenRequests: Int { state.withLock { $0.tokenRequests } }

    /// Why each refused assertion was refused, in order.
    public var rejections: [String] { state.withLock { $0.rejections } }

    /// The answer to a token request or to a publisher request without a valid token;
    /// `nil` for everything else (the fake answers it as usual).
    func handle(_ r: FakeUpstream.Received, origin: String) async -> (status: Int, body: [UInt8])? {
        if r.method == "POST", r.path == Self.tokenPath { return await token(r, audience: origin + Self.tokenPath) }
        guard r.path.contains("/publishers/") else { return nil }
        let bearer = r.headers["authorization"].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        guard let bearer, state.withLock({ $0.issued.contains(bearer) }) else {
            return (401, googleError(401, "Request had invalid authentication credentials. Expected OAuth 2 access token.", "UNAUTHENTICATED"))
        }
        if r.path.hasSuffix(":rawPredict") || r.path.hasSuffix(":streamRawPredict") {
            let body = r.json
            if body?["model"] != nil { return (400, anthropicError("model: Extra inputs are not permitted")) }
            if body?["anthropic_version"]?.stringValue != "vertex-2023-10-16" {
                return (400, anthropicError("anthropic_version: vertex-2023-10-16 is required"))
            }
        }
        return nil
    }

    func token(_ r: FakeUpstream.Received, audience: String) async -> (status: Int, body: [UInt8]) {
        let (failure, delay) = state.withLock { s -> (Int?, Int) in
            s.tokenRequests += 1
            return (s.tokenFailures.isEmpty ? nil : s.tokenFailures.removeFirst(), s.tokenDelayMs)
        }
        if delay > 0 { try? await Task.sleep(for: .milliseconds(delay)) }
        if let failure { return (failure, oauthError(failure >= 500 ? "internal_failure" : "invalid_grant", "scripted failure")) }
        let form = Self.form(String(decoding: r.body, as: UTF8.self))
        guard r.headers["content-type"]?.hasPrefix("application/x-www-form-urlencoded") == true,
            form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer", let assertion = form["assertion"]
        else { return reject("not a JWT bearer grant", "unsupported_grant_type") }
        let (accounts, skew) = state.withLock { s in (s.accounts, s.clock.map { abs($0.now().timeIntervalSinceNow) } ?? 0) }
        let verdict = await Self.verify(assertion, accounts: Array(accounts.values), audience: audience, leeway: Int(skew) + 30)
        if let problem = verdict { return reject(problem, "invalid_grant") }
        let (token, expiresIn) = state.withLock { s -> (String, Int) in
            let t = "ya29.fake-\(s.issued.count + 1)-\(UUID().uuidString.prefix(8))"
            s.issued.insert(t)
            return (t, s.expiresIn)
        }
        return (200, JSON.object(["access_token": .string(token), "expires_in": .int(expiresIn), "token_type": "Bearer"]).serialized())
    }

    func reject(_ why: String, _ code: String) -> (status: Int, body: [UInt8]) {
        state.withLock { $0.rejections.append(why) }
        return (400, oauthError(code, why))
    }

    func oauthError(_ code: String, _ description: String) -> [UInt8] {
        JSON.object(["error": .string(code), "error_description": .string(description)]).serialized()
    }

    func googleError(_ code: Int, _ message: String, _ status: String) -> [UInt8] {
        JSON.object(["error": ["code": .int(code), "message": .string(message), "status": .string(status)]]).serialized()
    }

    func anthropicError(_ message: String) -> [UInt8] {
        JSON.object(["type": "error", "error": ["type": "invalid_request_error", "message": .string(message)]]).serialized()
    }

    /// `application/x-www-form-urlencoded` fields.
    static func form(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { $0.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0) }
            if kv.count == 2 { out[kv[0]] = kv[1] }
        }
        return out
    }

    /// PyJWT's verdict on `assertion`: `nil` when it verifies against the account it names, else why not.
    static func verify(_ assertion: String, accounts: [Account], audience: String, leeway: Int) async -> String? {
        let keys = JSON.array(accounts.map { ["email": .string($0.email), "kid": .string($0.kid), "pem": .string($0.publicKeyPEM)] })
        let spec: JSON = ["assertion": .string(assertion), "accounts": keys, "audience": .string(audience), "leeway": .int(leeway)]
        guard let python = ChildProcess.which("python3") else { return "the fake's verifier needs python3 with PyJWT" }
        let pipe = Pipe()
        do {
            let p = try ChildProcess(
                executable: python, arguments: ["-c", verifierScript, spec.jsonString],
                environment: ProcessInfo.processInfo.environment, output: pipe.fileHandleForWriting.fileDescriptor)
            try pipe.fileHandleForWriting.close()
            let data = try await Task.detached { try pipe.fileHandleForReading.readToEnd() ?? Data() }.value
            let status = await p.waitExit()
            let out = String(decoding: data, as: UTF8.self)
            guard status == 0, let verdict = try? JSON.parse(out.split(separator: "\n").last.map(String.init) ?? "") else {
                return "the fake's verifier failed (\(status)): \(out)"
            }
            return verdict["ok"]?.boolValue == true ? nil : (verdict["error"]?.stringValue ?? "refused")
        } catch {
            return "the fake's verifier could not start: \(error)"
        }
    }

    /// Decodes the assertion with PyJWT against the public key of the account it claims as
    /// issuer (RS256 only, audience = this endpoint's URL, `iat`/`exp` required), then checks the header
    /// and claims Google checks. Prints `{"ok": bool, "error": str}`.
    static let verifierScript = #"""
        import json, sys
        import jwt
        spec = json.loads(sys.argv[1])
        token = spec["assertion"]
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            account = next((a for a in spec["accounts"] if a["email"] == unverified.get("iss")), None)
            if account is None:
                raise ValueError("no registered account %r" % unverified.get("iss"))
            claims = jwt.decode(token, account["pem"], algorithms=["RS256"], audience=spec["audience"], leeway=spec["leeway"],
                                options={"require": ["iss", "aud", "iat", "exp"]})
            header = jwt.get_unverified_header(token)
            problems = []
            if header.get("typ") != "JWT": problems.append("typ %r" % header.get("typ"))
            if header.get("kid") != account["kid"]: problems.append("kid %r is not the account's key id" % header.get("kid"))
            if claims.get("scope") != "https://www.googleapis.com/auth/cloud-platform": problems.append("scope %r" % claims.get("scope"))
            if claims["exp"] - claims["iat"] > 3600: problems.append("lifetime over an hour")
            print(json.dumps({"ok": not problems, "error": "; ".join(problems)}))
        except Exception as e:
            print(json.dumps({"ok": False, "error": "%s: %s" % (type(e).__name__, e)}))
        """#
}
