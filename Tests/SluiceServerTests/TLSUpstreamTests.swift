import Foundation
import SluiceCore
import SluiceEngine
import SluiceTesting
import Testing

/// The production upstream path: AsyncHTTPClient over TLS to an `https://` upstream whose
/// certificate a private CA signed, trusted through the provider's `ca_file`.
@Suite(.serialized) struct TLSUpstreamTests {
    static let whole = #"{"model":"m","messages":[{"role":"user","content":"over tls"}]}"#
    static let streamed = #"{"model":"m","stream":true,"messages":[{"role":"user","content":"over tls"}]}"#

    func expectCertificateFailure(_ r: HTTPResult, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == 502, "\(r.text)", sourceLocation: sourceLocation)
        #expect(r.json["error"]?["code"] == "upstream_error", "\(r.text)", sourceLocation: sourceLocation)
        let message = r.json["error"]?["message"]?.stringValue ?? ""
        #expect(message.contains("certificate verification failed") && message.contains("ca_file"), "\(r.text)", sourceLocation: sourceLocation)
        #expect(!message.contains(".build/") && !message.contains(".cc:"), "no build-machine paths: \(r.text)", sourceLocation: sourceLocation)
    }

    @Test func withoutCAFileTheCertificateFailsVerification() async throws {
        let upstream = try await FakeUpstream.start(tls: true)
        defer { Task { await upstream.stop() } }
        try await Harness.with(ScenarioProvider.openaiCompatible.config(upstream, trustCA: false)) { h in
            let r = try await h.chat(Self.whole)
            expectCertificateFailure(r)
            expectCertificateFailure(try await h.chat(Self.streamed))
            // The handshake failed: no request reached the upstream.
            #expect(upstream.requestCount == 0)
            let rec = try await h.record(r.header("X-Sluice-Call-Id"))
            #expect(rec.status == .error)
            #expect(rec.error?.contains("certificate verification failed") == true, "\(rec.error ?? "")")
        }
    }

    @Test func withCAFileTheCallSucceedsOverTLS() async throws {
        let upstream = try await FakeUpstream.start(tls: true)
        defer { Task { await upstream.stop() } }
        upstream.setDefault(.text("secured"))
        #expect(upstream.baseURL == "https://127.0.0.1:\(upstream.port)/v1")
        try await Harness.with(ScenarioProvider.openaiCompatible.config(upstream)) { h in
            let r = try await h.chat(Self.whole)
            #expect(r.status == 200, "\(r.text)")
            #expect(r.json["choices"]?.arrayValue?.first?["message"]?["content"] == "secured")
            let s = try await h.chat(Self.streamed)
            #expect(s.status == 200, "\(s.text)")
            #expect(Harness.events(s.body).last == "[DONE]")
            let text = Harness.events(s.body).dropLast().compactMap { try? JSON.parse($0) }
                .compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
            #expect(text == "secured")
            // Both reached the TLS server (a plain-HTTP request to it would not have been understood).
            #expect(upstream.received.map(\.path) == ["/v1/chat/completions", "/v1/chat/completions"])
        }
    }

    @Test func theCertificateVerifiesForLocalhostToo() async throws {
        let upstream = try await FakeUpstream.start(tls: true)
        defer { Task { await upstream.stop() } }
        let caFile = try #require(upstream.caFile)
        let cfg = """
            providers:
              p: { type: openai_compatible, base_url: "https://localhost:\(upstream.port)/v1", ca_file: "\(caFile)" }
            models:
              m: { targets: [ { provider: p, model: x } ] }
            \(noRetry)
            """
        try await Harness.with(cfg) { h in
            let r = try await h.chat(Self.whole)
            #expect(r.status == 200, "\(r.text)")
            #expect(upstream.requestCount == 1)
        }
    }

    @Test func anotherCAsFileDoesNotVerifyTheUpstream() async throws {
        let upstream = try await FakeUpstream.start(tls: true)
        defer { Task { await upstream.stop() } }
        let other = try TestCertificates()
        let cfg = """
            providers:
              p: { type: anthropic, base_url: "\(upstream.baseURL)", api_key: "sk-ant-tls-1", ca_file: "\(other.caFile)" }
            models:
              m: { targets: [ { provider: p, model: claude-sonnet-4-5 } ] }
            \(noRetry)
            """
        try await Harness.with(cfg) { h in
            expectCertificateFailure(try await h.chat(Self.whole))
            expectCertificateFailure(try await h.chat(Self.streamed))
            #expect(upstream.requestCount == 0)
        }
    }

    @Test func providersWithAndWithoutCAFileShareOneGateway() async throws {
        let secure = try await FakeUpstream.start(tls: true)
        let plain = try await FakeUpstream.start()
        defer { Task { await secure.stop(); await plain.stop() } }
        secure.setDefault(.text("from tls"))
        plain.setDefault(.text("from plain"))
        let cfg = """
            providers:
              s: { type: openai_compatible, base_url: "\(secure.baseURL)", ca_file: "\(try #require(secure.caFile))" }
              u: { type: openai_compatible, base_url: "\(plain.baseURL)" }
            models:
              tls: { targets: [ { provider: s, model: x } ] }
              plain: { targets: [ { provider: u, model: x } ] }
            \(noRetry)
            """
        try await Harness.with(cfg) { h in
            for (model, text) in [("tls", "from tls"), ("plain", "from plain")] {
                let r = try await h.chat(#"{"model":"\#(model)","messages":[{"role":"user","content":"hi"}]}"#)
                #expect(r.status == 200, "\(r.text)")
                #expect(r.json["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue == text)
            }
        }
    }

    // MARK: Config

    func configError(_ yaml: String) -> ConfigError? {
        do {
            _ = try ConfigLoader.parse(yaml, environment: [:])
            return nil
        } catch let e as ConfigError {
            return e
        } catch {
            Issue.record("not a ConfigError: \(error)")
            return nil
        }
    }

    func provider(_ fields: String) -> String {
        """
        providers:
          private-llm: { type: openai_compatible, base_url: "https://llm.internal/v1"\(fields) }
        """
    }

    @Test func aMissingCAFileIsAConfigErrorNamingProviderAndPath() throws {
        let path = "/nonexistent/sluice-ca-\(UUID().uuidString).pem"
        let e = try #require(configError(provider(#", ca_file: "\#(path)""#)))
        #expect(e.path == "providers.private-llm.ca_file")
        #expect(e.description.contains("private-llm"), "\(e)")
        #expect(e.description.contains(path), "\(e)")
        #expect(e.description.contains("cannot read"), "\(e)")
    }

    @Test func aCAFileWithoutCertificatesIsAConfigError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-ca-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let garbage = dir.appendingPathComponent("garbage.pem").path
        try Data("not a certificate\n".utf8).write(to: URL(fileURLWithPath: garbage))
        let key = dir.appendingPathComponent("key.pem").path
        try Data(TestCertificates.shared.privateKeyPEM.utf8).write(to: URL(fileURLWithPath: key))
        for path in [garbage, key] {
            let e = try #require(configError(provider(#", ca_file: "\#(path)""#)), "\(path)")
            #expect(e.path == "providers.private-llm.ca_file")
            #expect(e.description.contains("private-llm") && e.description.contains(path), "\(e)")
        }
        let dirError = try #require(configError(provider(#", ca_file: "\#(dir.path)""#)))
        #expect(dirError.description.contains(dir.path), "\(dirError)")
    }

    @Test func aCAFileIsResolvedAgainstTheConfigDirectory() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-ca-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("certs"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(TestCertificates.shared.caPEM.utf8).write(to: dir.appendingPathComponent("certs/ca.pem"))
        let configPath = dir.appendingPathComponent("sluice.yaml").path
        try Data(provider(#", ca_file: certs/ca.pem"#).utf8).write(to: URL(fileURLWithPath: configPath))
        let config = try ConfigLoader.load(path: configPath, environment: [:])
        let p = try #require(config.providers.first { $0.name == "private-llm" })
        #expect(p.caFile == dir.appendingPathComponent("certs/ca.pem").path)
    }

    @Test func caFileIsRefusedOnSimulatedProviders() throws {
        let e = try #require(configError("providers:\n  sim: { type: simulated, ca_file: \"\(TestCertificates.shared.caFile)\" }\n"))
        #expect(e.path == "providers.sim.ca_file")
    }
}
