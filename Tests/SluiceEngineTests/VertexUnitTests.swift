import Foundation
import NIOHTTP1
import SluiceCore
import SluiceTesting
import Testing

@testable import SluiceEngine
@testable import SluiceProviders

@Suite struct VertexConfigTests {
    func error(_ yaml: String, env: [String: String] = [:]) -> String {
        do {
            _ = try ConfigLoader.parse(yaml, environment: env)
            return ""
        } catch { return "\(error)" }
    }

    func keyFile(_ json: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-vertex-\(UUID().uuidString).json").path
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func missingOrUnusableSettingsSayWhatToFix() throws {
        let good = try TestServiceAccount.shared.keyFile(tokenURI: "https://oauth2.googleapis.com/token")
        #expect(error(#"providers: { g: { type: vertex, location: us-central1 } }"#).contains("has no credentials: set credentials_file"))
        #expect(error(#"providers: { g: { type: vertex, location: us-central1, access_token: t } }"#).contains("needs a project: set 'project: my-project-id'"))
        #expect(error(#"providers: { g: { type: vertex, project: p, access_token: t } }"#).contains("needs a location: set 'location: us-central1'"))
        #expect(error(#"providers: { g: { type: vertex, project: p, location: US, access_token: t } }"#).contains("does not look like a Vertex AI location"))
        #expect(error(#"providers: { g: { type: vertex, project: p, location: us-central1, api_key: k } }"#).contains("not an api_key"))
        #expect(error(#"providers: { o: { type: openai, api_key: k, project: p } }"#).contains("'project' applies only to vertex providers"))
        #expect(
            error(#"providers: { g: { type: vertex, project: p, location: global, access_token: t, credentials_file: "\#(good)" } }"#)
                .contains("sets both credentials_file and access_token"))
        #expect(
            error(#"providers: { g: { type: vertex, project: p, location: us-central1, credentials_file: /nonexistent/sa.json } }"#)
                .contains("unusable credentials_file: cannot read '/nonexistent/sa.json'"))
        let notPEM = try keyFile(#"{"type":"service_account","client_email":"a@b.iam.gserviceaccount.com","private_key":"MIIEvQIBADANBg"}"#)
        #expect(error(#"providers: { g: { type: vertex, project: p, location: us-central1, credentials_file: "\#(notPEM)" } }"#).contains("not a PEM key"))
        let ecKey = try keyFile(
            JSON.object([
                "type": "service_account", "client_email": "a@b.iam.gserviceaccount.com",
                "private_key": .string(TestCertificates.shared.privateKeyPEM),
            ]).jsonString)
        let ec = error(#"providers: { g: { type: vertex, project: p, location: us-central1, credentials_file: "\#(ecKey)" } }"#)
        #expect(ec.contains("not a PEM RSA private key"), "\(ec)")
        #expect(!ec.contains("BEGIN"))
        let user = try keyFile(#"{"type":"authorized_user","client_id":"x","refresh_token":"y"}"#)
        #expect(error(#"providers: { g: { type: vertex, project: p, location: us-central1, credentials_file: "\#(user)" } }"#).contains("authorized_user"))
    }

    @Test func environmentAndKeyFileFillTheGaps() throws {
        let file = try TestServiceAccount.shared.keyFile(tokenURI: "https://oauth2.googleapis.com/token")
        let c = try ConfigLoader.parse(
            "providers:\n  g: { type: vertex }", environment: ["GOOGLE_APPLICATION_CREDENTIALS": file, "GOOGLE_CLOUD_LOCATION": "global"])
        let v = try #require(c.providers.first?.vertex)
        #expect(v.project == "sluice-test-project")  // the key file's project_id
        #expect(v.location == "global")
        #expect(v.credentialsFile == file)
        guard case .serviceAccount(let account) = v.credentials else { Issue.record("not a service account"); return }
        #expect(account.clientEmail == TestServiceAccount.shared.clientEmail)
        let e = try ConfigLoader.parse(
            "providers:\n  g: { type: vertex, location: europe-west1, access_token: tok }", environment: ["GOOGLE_CLOUD_PROJECT": "from-env"])
        #expect(e.providers.first?.vertex?.project == "from-env")
        #expect(VertexProvider.Settings.defaultBaseURL(location: "europe-west1") == "https://europe-west1-aiplatform.googleapis.com")
        #expect(VertexProvider.Settings.defaultBaseURL(location: "global") == "https://aiplatform.googleapis.com")
        // A changed token needs a restart, as for every provider setting.
        let changed = try ConfigLoader.parse(
            "providers:\n  g: { type: vertex, location: europe-west1, access_token: other }", environment: ["GOOGLE_CLOUD_PROJECT": "from-env"])
        #expect(Gateway.restartSections(e, changed).contains("providers"))
    }

    @Test func publishersAndPrices() {
        #expect(VertexProvider.Publisher.route("gemini-2.5-flash") == (.google, "gemini-2.5-flash"))
        #expect(VertexProvider.Publisher.route("claude-sonnet-4@20250514") == (.anthropic, "claude-sonnet-4@20250514"))
        #expect(VertexProvider.Publisher.route("anthropic/my-tuned-claude") == (.anthropic, "my-tuned-claude"))
        #expect(VertexProvider.Publisher.route("google/claude-lookalike") == (.google, "claude-lookalike"))
        let table = PriceTable()
        #expect(table.price(for: "claude-3-5-sonnet-v2@20241022")?.input == 3.00)
        #expect(table.price(for: "claude-3-5-haiku@20241022")?.output == 4.00)
        #expect(table.price(for: "claude-sonnet-4@20250514")?.cacheWrite == 3.75)
        #expect(table.price(for: "claude-opus-4-1@20250805")?.input == 15.00)
        #expect(table.price(for: "gemini-2.5-flash")?.input == 0.30)
    }
}

@Suite struct VertexAuthUnitTests {
    let account = try! GoogleServiceAccount(
        json: TestServiceAccount.shared.json(tokenURI: "https://oauth2.example/token").serialized(), source: "test")

    @Test func theAssertionCarriesTheClaimsGoogleChecks() throws {
        let jwt = try account.assertion(at: Date(timeIntervalSince1970: 1_767_225_600))
        let parts = jwt.split(separator: ".").map(String.init)
        #expect(parts.count == 3)
        func decode(_ s: String) throws -> JSON {
            var b = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while b.count % 4 != 0 { b += "=" }
            return try JSON.parse(Array(try #require(Data(base64Encoded: b))))
        }
        #expect(try decode(parts[0]) == ["alg": "RS256", "typ": "JWT", "kid": .string(TestServiceAccount.shared.privateKeyID)])
        let claims = try decode(parts[1])
        #expect(claims["iss"] == .string(TestServiceAccount.shared.clientEmail))
        #expect(claims["aud"] == "https://oauth2.example/token")
        #expect(claims["scope"] == "https://www.googleapis.com/auth/cloud-platform")
        #expect(claims["iat"] == 1_767_225_600)
        #expect(claims["exp"] == 1_767_229_200)
        #expect(!jwt.contains("="))
    }

    @Test func tokenAnswersAndFailures() {
        let issued = Date(timeIntervalSince1970: 1_000_000)
        func parse(_ status: Int, _ body: String) -> Result<VertexTokenSource.Token, ProviderError> {
            VertexTokenSource.parse(status: status, body: Array(body.utf8), headers: HTTPHeaders(), account: account, issued: issued)
        }
        let ok = try? parse(200, #"{"access_token":"ya29.x","expires_in":3599,"token_type":"Bearer"}"#).get()
        #expect(ok?.value == "ya29.x")
        #expect(ok?.refreshAt == issued.addingTimeInterval(3299))
        #expect(ok?.expiresAt == issued.addingTimeInterval(3599))
        let short = try? parse(200, #"{"access_token":"ya29.y","expires_in":120}"#).get()
        #expect(short?.refreshAt == issued.addingTimeInterval(60))
        guard case .failure(let refused) = parse(400, #"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#),
            case .failure(let down) = parse(503, "unavailable"),
            case .failure(let empty) = parse(200, "{}")
        else { Issue.record("expected failures"); return }
        #expect(refused.status == 401)  // the next target, no retry
        #expect(refused.message.contains("invalid_grant: Invalid JWT Signature."))
        #expect(refused.message.contains(TestServiceAccount.shared.clientEmail))
        #expect(down.status == 503)  // retried
        #expect(empty.kind == .invalidResponse)
    }
}

@Suite struct VertexDocumentedConfigTests {
    /// docs/config.md's Vertex AI example parses as written, its key file beside it.
    @Test func theDocumentedExampleParses() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let doc = try String(contentsOf: root.appendingPathComponent("docs/config.md"), encoding: .utf8)
        let section = try #require(doc.components(separatedBy: "### Google Vertex AI").dropFirst().first)
        let yaml = try #require(section.components(separatedBy: "```yaml\n").dropFirst().first?.components(separatedBy: "```").first)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-vertex-doc-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/secrets", withIntermediateDirectories: true)
        let file = try TestServiceAccount.shared.keyFile(tokenURI: "https://oauth2.googleapis.com/token")
        try FileManager.default.moveItem(atPath: file, toPath: dir + "/secrets/sluice-sa.json")
        let c = try ConfigLoader.parse(yaml, environment: ["ANTHROPIC_API_KEY": "sk-ant-doc"], directory: dir)
        let v = try #require(c.providers.first { $0.name == "gcp" }?.vertex)
        #expect(v.project == "my-project-id" && v.location == "us-east5")
        #expect(v.credentialsFile == dir + "/secrets/sluice-sa.json")
        #expect(c.models.first { $0.name == "claude" }?.targets.last?.model == "claude-3-5-haiku@20241022")
    }
}
