import Foundation
import SluiceCore
import SluiceTesting
import Testing

/// Whether `python3` can import botocore, which checks every SigV4 signature Sluice sends to
/// the Bedrock fake. CI installs it (`.ci/run`); without it locally the Bedrock end-to-end tests
/// are skipped (in CI they run and fail instead).
let pythonHasBotocore: Bool = {
    guard let python = ChildProcess.which("python3"),
        let p = try? ChildProcess(
            executable: python, arguments: ["-c", "import botocore.auth, botocore.eventstream"],
            environment: ProcessInfo.processInfo.environment)
    else { return false }
    return p.waitUntilExit() == 0
}()

/// The Bedrock tests run where botocore is, and always in CI.
let bedrockTestsEnabled = pythonHasBotocore || runningInCI

/// The credentials and region the Bedrock fakes expect.
enum BedrockFixture {
    static let accessKey = "AKIDEXAMPLEBEDROCK01"
    static let secretKey = "bedrock-secret-key-wJalrXUtnFEMI/K7MDENG"
    static let sessionToken = "session-token-FwoGZXIvYXdzEJr-example"
    static let region = "us-west-2"

    /// A bedrock provider entry at `upstream`, with the keys in the config unless `fromEnv`.
    static func provider(_ upstream: FakeUpstream, token: Bool = false, fromEnv: Bool = false) -> String {
        let ca = upstream.caFile.map { #", ca_file: "\#($0)""# } ?? ""
        if fromEnv { return #"{ type: bedrock, base_url: "\#(upstream.origin)"\#(ca) }"# }
        let session = token ? #", session_token: "\#(sessionToken)""# : ""
        return #"{ type: bedrock, region: \#(region), base_url: "\#(upstream.origin)", access_key_id: \#(accessKey), "#
            + #"secret_access_key: "\#(secretKey)"\#(session)\#(ca) }"#
    }

    /// The environment for `fromEnv` providers.
    static var environment: [String: String] {
        ["AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": secretKey, "AWS_SESSION_TOKEN": sessionToken, "AWS_REGION": region]
    }

    /// Recomputes, with botocore's `SigV4Auth`, the signature of every Bedrock request `upstream`
    /// received, and fails the test for each one that does not match (or is unsigned).
    static func expectSignaturesVerify(
        _ upstream: FakeUpstream, token: Bool = false, keys: (id: String, secret: String) = (accessKey, secretKey),
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let requests = upstream.received.filter {
            $0.path.contains("/converse") && ($0.headers["authorization"]?.contains("Credential=\(keys.id)/") ?? true)
        }
        #expect(!requests.isEmpty, "no Bedrock request reached the fake", sourceLocation: sourceLocation)
        let report = try await verify(requests, origin: upstream.origin, token: token, keys: keys)
        #expect(report.failures.isEmpty, "botocore rejected signatures: \(report.failures)", sourceLocation: sourceLocation)
        #expect(report.verified == requests.count, "botocore verified \(report.verified) of \(requests.count)", sourceLocation: sourceLocation)
    }

    /// The botocore verdicts on `requests`: how many verified, and why the others did not.
    static func verify(
        _ requests: [FakeUpstream.Received], origin: String, token: Bool, keys: (id: String, secret: String) = (accessKey, secretKey)
    ) async throws -> (verified: Int, failures: [String]) {
        let cases: [JSON] = requests.map { r in
            var headers = JSONObject()
            for (k, v) in r.headers { headers[k] = .string(v) }
            return [
                "method": .string(r.method), "url": .string(origin + r.path + (r.query.isEmpty ? "" : "?" + r.query)),
                "headers": .object(headers), "body_hex": .string(r.body.map { String(format: "%02x", $0) }.joined()),
            ]
        }
        let input: JSON = [
            "access_key": .string(keys.id), "secret_key": .string(keys.secret), "region": .string(region),
            "token": token ? .string(sessionToken) : .null, "cases": .array(cases),
        ]
        let out = try await runPython(verifierScript, input: input)
        let verdict = try JSON.parse(out)
        return (verdict["verified"]?.intValue ?? 0, (verdict["failures"]?.arrayValue ?? []).compactMap(\.stringValue))
    }

    /// Runs `script` with a JSON file of `input` as its argument; its stdout.
    static func runPython(_ script: String, input: JSON) async throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-bedrock-\(UUID().uuidString).json").path
        try Data(input.serialized()).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let pipe = Pipe()
        let p = try ChildProcess(
            executable: try #require(ChildProcess.which("python3")), arguments: ["-c", script, path],
            environment: ProcessInfo.processInfo.environment, output: pipe.fileHandleForWriting.fileDescriptor)
        try pipe.fileHandleForWriting.close()
        let data = try await Task.detached { try pipe.fileHandleForReading.readToEnd() ?? Data() }.value
        let status = await p.waitExit()
        let text = String(decoding: data, as: UTF8.self)
        guard status == 0 else { throw HarnessError("python3 failed (\(status)): \(text)") }
        return text
    }

    /// botocore recomputes each request's signature from the headers it names as signed, the URL,
    /// the body and its `X-Amz-Date`, with the same credentials; prints `{"verified": N, "failures": […]}`.
    static let verifierScript = #"""
        import json, re, sys
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        spec = json.load(open(sys.argv[1]))
        creds = Credentials(spec["access_key"], spec["secret_key"], spec["token"])
        verified, failures = 0, []
        pattern = r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$"
        for i, c in enumerate(spec["cases"]):
            h = c["headers"]
            m = re.match(pattern, h.get("authorization", ""))
            if not m:
                failures.append("%d: no SigV4 authorization header" % i); continue
            key, day, region, service, signed, signature = m.groups()
            if (key, region, service) != (spec["access_key"], spec["region"], "bedrock"):
                failures.append("%d: wrong scope %s/%s/%s" % (i, key, region, service)); continue
            names = signed.split(";")
            if spec["token"] and h.get("x-amz-security-token") != spec["token"]:
                failures.append("%d: session token missing" % i); continue
            for needed in ["host", "x-amz-date"] + (["x-amz-security-token"] if spec["token"] else []):
                if needed not in names: failures.append("%d: %s not signed" % (i, needed))
            req = AWSRequest(method=c["method"], url=c["url"], data=bytes.fromhex(c["body_hex"]),
                             headers={n: h[n] for n in names if n != "host"})
            req.context["timestamp"] = h["x-amz-date"]
            if day != h["x-amz-date"][:8]:
                failures.append("%d: credential date differs from x-amz-date" % i); continue
            auth = SigV4Auth(creds, "bedrock", spec["region"])
            if auth.signed_headers(auth.headers_to_sign(req)) != signed:
                failures.append("%d: signed headers %s, botocore signs %s" % (i, signed, auth.signed_headers(auth.headers_to_sign(req)))); continue
            expected = auth.signature(auth.string_to_sign(req, auth.canonical_request(req)), req)
            if expected == signature: verified += 1
            else: failures.append("%d: signature mismatch for %s %s" % (i, c["method"], c["url"]))
        print(json.dumps({"verified": verified, "failures": failures}))
        """#
}

extension JSON {
    /// The `i`th element of an array; `nil` for anything else or out of range.
    func item(_ i: Int) -> JSON? {
        guard let a = arrayValue, a.indices.contains(i) else { return nil }
        return a[i]
    }
}

/// The JSON `data:` payloads of an SSE body whose events may carry `event:` lines (Anthropic, Responses).
func sseJSON(_ body: [UInt8]) -> [JSON] {
    String(decoding: body, as: UTF8.self).split(separator: "\n").compactMap { line in
        line.hasPrefix("data: ") ? try? JSON.parse(String(line.dropFirst(6))) : nil
    }
}
