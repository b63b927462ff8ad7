import Foundation
import NIOHTTP1
import SluiceCore
@testable import SluiceEngine
@testable import SluiceProviders
import SluiceTesting
import Testing

@Suite struct BedrockEventStreamTests {
    static let frames = FakeBedrockAnswer.frames(
        for: [:], reply: {
            var r = FakeUpstream.Reply.text("Hello, event stream!")
            r.toolUses = [FakeUpstream.ToolUse(id: "tooluse_1", name: "lookup", input: ["q": "x"])]
            return r
        }())

    func decodeAll(_ bytes: [UInt8], chunk: Int) throws -> [EventStreamDecoder.Message] {
        var d = EventStreamDecoder()
        var out: [EventStreamDecoder.Message] = []
        var i = 0
        while i < bytes.count {
            d.feed(bytes[i..<min(i + chunk, bytes.count)])
            i += chunk
            while let m = try d.next() { out.append(m) }
        }
        #expect(d.pendingBytes == 0)
        return out
    }

    @Test func crc32MatchesTheStandardCheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.update(CRC32.checksum(Array("1234".utf8)), Array("56789".utf8)) == 0xCBF4_3926)
    }

    @Test(arguments: [1, 3, 7, 64, 100_000])
    func framesDecodeAcrossAnyChunkBoundary(_ chunk: Int) throws {
        let messages = try decodeAll(Self.frames.flatMap { $0 }, chunk: chunk)
        #expect(messages.count == Self.frames.count)
        #expect(messages.map { $0.headers[":event-type"] ?? "" }.first == "messageStart")
        #expect(messages.last?.headers[":event-type"] == "metadata")
        #expect(messages.allSatisfy { $0.headers[":message-type"] == "event" })
        #expect(try JSON.parse(messages[1].payload)["delta"]?["text"] == "Hello,")
    }

    @Test func headersOfEveryOtherTypeAreSkipped() throws {
        // bool true, bool false, byte, short, int, long, byte array, timestamp, uuid, then a string.
        var block: [UInt8] = []
        func name(_ n: String, _ type: UInt8) { block += [UInt8(n.utf8.count)] + Array(n.utf8) + [type] }
        name("t", 0); name("f", 1)
        name("b", 2); block += [7]
        name("s", 3); block += [0, 7]
        name("i", 4); block += [0, 0, 0, 7]
        name("l", 5); block += Array(repeating: 1, count: 8)
        name("a", 6); block += [0, 3, 1, 2, 3]
        name("ts", 8); block += Array(repeating: 2, count: 8)
        name("u", 9); block += Array(repeating: 3, count: 16)
        name(":event-type", 7); block += [0, 8] + Array("metadata".utf8)
        let payload = Array(#"{"usage":{}}"#.utf8)
        let total = 12 + block.count + payload.count + 4
        var frame = EventStreamFrame.be32(UInt32(total)) + EventStreamFrame.be32(UInt32(block.count))
        frame += EventStreamFrame.be32(CRC32.checksum(frame))
        frame += block + payload
        frame += EventStreamFrame.be32(CRC32.checksum(frame))
        let m = try #require(try decodeAll(frame, chunk: 5).first)
        #expect(m.headers == [":event-type": "metadata"])
        #expect(m.payload == payload)
    }

    @Test func aBadCRCThrowsWhereverItIs() throws {
        let good = Self.frames[1]
        var d = EventStreamDecoder()
        d.feed(EventStreamFrame.corrupted(good))
        #expect(throws: EventStreamDecoder.Failure.self) { try d.next() }

        var prelude = good
        prelude[9] ^= 0x01  // the prelude CRC itself
        var p = EventStreamDecoder()
        p.feed(prelude.prefix(12))  // detected as soon as the prelude is in
        #expect(throws: EventStreamDecoder.Failure(description: "event-stream prelude CRC mismatch")) { try p.next() }

        var payload = good
        payload[payload.count - 6] ^= 0x20  // a payload byte: the message CRC no longer matches
        var q = EventStreamDecoder()
        q.feed(payload)
        #expect(throws: EventStreamDecoder.Failure(description: "event-stream message CRC mismatch")) { try q.next() }

        var partial = EventStreamDecoder()
        partial.feed(good.dropLast())
        #expect(try partial.next() == nil)
    }
}

@Suite struct BedrockSigningTests {
    /// The signature botocore 1.43's `SigV4Auth` computes for this request (Tests/SluiceServerTests
    /// checks every live request against botocore itself).
    @Test func signatureMatchesBotocoresForTheSameRequest() {
        let signer = SigV4Signer(
            service: "bedrock", region: "us-east-1",
            credentials: AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: "tok123"))
        let url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/" + SigV4Signer.percentEncode("anthropic.claude-3-haiku-20240307-v1:0") + "/converse"
        #expect(url.hasSuffix("/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"))
        let headers = signer.sign(
            method: "POST", url: url, headers: [("content-type", "application/json"), ("accept", "application/json")],
            body: Array(#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#.utf8), date: Date(timeIntervalSince1970: 1_735_787_045))
        let byName = Dictionary(uniqueKeysWithValues: headers)
        #expect(byName["x-amz-date"] == "20250102T030405Z")
        #expect(byName["x-amz-security-token"] == "tok123")
        #expect(
            byName["authorization"]
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250102/us-east-1/bedrock/aws4_request, "
                + "SignedHeaders=accept;content-type;host;x-amz-date;x-amz-security-token, "
                + "Signature=13522cb7efc7188ae5ddf77f88e3fd4c9c7ad45c0d21d095e8e4f2ce10933db2")
        #expect(SigV4Signer.canonicalURI(url) == "/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse")
        #expect(!AWSCredentials(accessKeyID: "AKID", secretAccessKey: "very-secret-value", sessionToken: "tok").description.contains("secret-value"))
    }
}

@Suite struct BedrockTranslationTests {
    @Test func refusalsNameTheField() {
        #expect(throws: ProviderError.self) { try BedrockRequest.translate(["model": "m", "logprobs": true, "messages": []]) }
        do {
            _ = try BedrockRequest.translate(["messages": [["role": "user", "content": [["type": "image_url", "image_url": ["url": "https://x/cat.png"]]]]]])
            Issue.record("an http image must be refused")
        } catch {
            #expect(error.status == 400)
            #expect(error.message.contains("messages[0].content[0]"))
            #expect(error.message.contains("base64 data URL"))
        }
    }

    @Test func jsonOutputIsAForcedToolAndComesBackAsText() throws {
        let body = try BedrockRequest.translate([
            "messages": [["role": "user", "content": "label it"]],
            "response_format": ["type": "json_schema", "json_schema": ["name": "l", "schema": ["type": "object"]]],
        ])
        #expect(body["toolConfig"]?["toolChoice"] == ["tool": ["name": "json_output"]])
        let answer: JSONObject = [
            "output": ["message": ["role": "assistant", "content": [["toolUse": ["toolUseId": "t", "name": "json_output", "input": ["label": "bug"]]]]]],
            "stopReason": "tool_use", "usage": ["inputTokens": 5, "outputTokens": 3],
        ]
        let (completion, usage) = BedrockResponse.completion(answer, model: "m", requestID: "r1", created: 0)
        #expect(completion["choices"]?.arrayValue?.first?["message"]?["content"] == #"{"label":"bug"}"#)
        #expect(completion["choices"]?.arrayValue?.first?["finish_reason"] == "stop")
        #expect(completion["id"] == "chatcmpl-bedrock-r1")
        #expect(usage == Usage(inputTokens: 5, outputTokens: 3))
    }

    @Test func stopReasons() {
        #expect(BedrockResponse.finishReason("end_turn") == "stop")
        #expect(BedrockResponse.finishReason("stop_sequence") == "stop")
        #expect(BedrockResponse.finishReason("tool_use") == "tool_calls")
        #expect(BedrockResponse.finishReason("max_tokens") == "length")
        #expect(BedrockResponse.finishReason("content_filtered") == "content_filter")
        #expect(BedrockResponse.finishReason("guardrail_intervened") == "content_filter")
    }

    @Test func errorsMapToSluicesFailureClasses() {
        func http(_ status: Int, _ type: String, _ body: String = #"{"message":"m"}"#) -> ProviderError {
            var headers = HTTPHeaders([("x-amzn-ErrorType", type + ":http://internal.amazon.com/coral/com.amazon.bedrock/")])
            headers.add(name: "retry-after", value: "2")
            return BedrockError.http(status: status, body: Array(body.utf8), headers: headers, secrets: ["secret-key-value"])
        }
        #expect(http(429, "ThrottlingException").status == 429)
        #expect(http(429, "ThrottlingException").retryAfterSeconds == 2)
        #expect(http(400, "ValidationException").status == 400)
        #expect(http(403, "AccessDeniedException").status == 403)
        #expect(http(403, "UnrecognizedClientException").message.contains("access_key_id"))
        #expect(http(429, "ModelNotReadyException").status == 503)
        #expect(http(503, "ServiceUnavailableException").status == 503)
        #expect(http(500, "InternalServerException").status == 500)
        #expect(http(408, "ModelTimeoutException").status == 408)
        #expect(!http(400, "ValidationException", #"{"message":"bad secret-key-value"}"#).message.contains("secret-key-value"))
        let frame = BedrockError.streamException(type: "throttlingException", payload: Array(#"{"message":"slow"}"#.utf8), secrets: [])
        #expect(frame.status == 429)
        #expect(frame.message == "Bedrock throttlingException: slow")
    }
}

@Suite struct BedrockConfigAndPricingTests {
    func error(_ yaml: String, env: [String: String] = [:]) -> String {
        do {
            _ = try ConfigLoader.parse(yaml, environment: env)
            return ""
        } catch { return "\(error)" }
    }

    @Test func missingRegionOrCredentialsSayWhatToSet() throws {
        #expect(error("providers:\n  b: { type: bedrock, access_key_id: AKID, secret_access_key: s3cr3t }").contains("needs a region: set 'region: us-east-1'"))
        #expect(error("providers:\n  b: { type: bedrock, region: us-east-1 }").contains("has no AWS credentials"))
        #expect(error("providers:\n  b: { type: bedrock, region: us-east-1, access_key_id: AKID }").contains("only one of access_key_id and secret_access_key"))
        #expect(error("providers:\n  b: { type: bedrock, region: us-east-1, api_key: k }").contains("not an api_key"))
        #expect(error("providers:\n  o: { type: openai, api_key: k, region: us-east-1 }").contains("'region' applies only to bedrock providers"))
        #expect(error("providers:\n  b: { type: bedrock, region: US_EAST, access_key_id: A, secret_access_key: s }").contains("does not look like an AWS region"))
        let c = try ConfigLoader.parse(
            "providers:\n  b: { type: bedrock }",
            environment: ["AWS_DEFAULT_REGION": "eu-west-3", "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_SESSION_TOKEN": "tok"])
        let b = try #require(c.providers.first?.bedrock)
        #expect(b.region == "eu-west-3")
        #expect(b.credentials == AWSCredentials(accessKeyID: "AKIDENV", secretAccessKey: "envsecret", sessionToken: "tok"))
    }

    @Test func bedrockModelIdsArePricedWithOrWithoutAnInferenceProfilePrefix() throws {
        let table = PriceTable()
        let haiku = try #require(table.price(for: "anthropic.claude-3-5-haiku-20241022-v1:0"))
        #expect(haiku.input == 0.80 && haiku.output == 4.00)
        #expect(table.price(for: "us.anthropic.claude-3-5-haiku-20241022-v1:0") == haiku)
        #expect(table.price(for: "eu.anthropic.claude-3-5-sonnet-20240620-v1:0")?.input == 3.00)
        #expect(table.price(for: "meta.llama3-1-70b-instruct-v1:0")?.output == 0.72)
        #expect(table.price(for: "us.amazon.nova-micro-v1:0")?.input == 0.035)
        #expect(table.price(for: "amazon.nova-pro-v1:0")?.output == 3.20)
        #expect(table.price(for: "xx.amazon.nova-pro-v1:0") == nil)
    }
}
