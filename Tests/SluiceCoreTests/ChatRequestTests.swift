import Testing
@testable import SluiceCore

@Suite struct ChatRequestTests {
    func parse(_ text: String) throws(SluiceError) -> ChatRequest {
        try ChatRequest(body: try! JSON.parse(text))
    }

    @Test func acceptsAFullRequestAndKeepsUnknownFields() throws {
        let r = try parse(#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true},"temperature":0.2,"max_tokens":5,"stop":["a"],"brand_new_param":{"x":1},"metadata":{"X-Sluice-Purpose":"triage","app":"web"}}"#)
        #expect(r.model == "m")
        #expect(r.stream)
        #expect(r.clientWantsUsage)
        #expect(r.body["brand_new_param"]?["x"]?.intValue == 1)
        #expect(r.sluiceMetadata["x-sluice-purpose"] == "triage")
        #expect(r.body["metadata"]?.objectValue?.keys == ["app"])
    }

    @Test func metadataWithOnlySluiceKeysIsRemoved() throws {
        let r = try parse(#"{"model":"m","messages":[{"role":"user","content":"hi"}],"metadata":{"x-sluice-run-id":"r1"}}"#)
        #expect(r.body["metadata"] == nil)
        #expect(r.sluiceMetadata["x-sluice-run-id"] == "r1")
    }

    @Test(arguments: [
        (#"[]"#, "must be a JSON object", nil),
        (#"{"messages":[]}"#, "Missing required field 'model'", "model"),
        (#"{"model":3,"messages":[]}"#, "'model' must be a non-empty string, got number", "model"),
        (#"{"model":"m"}"#, "Missing required field 'messages'", "messages"),
        (#"{"model":"m","messages":"hi"}"#, "'messages' must be an array, got string", "messages"),
        (#"{"model":"m","messages":[{"role":"robot","content":"x"}]}"#, "'messages[0].role' is 'robot'", "messages[0].role"),
        (#"{"model":"m","messages":[{"role":"user","content":5}]}"#, "'messages[0].content' must be a string", "messages[0].content"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"hot"}"#, "'temperature' must be a number, got string", "temperature"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":1.5}"#, "'max_tokens' must be an integer", "max_tokens"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"}"#, "'stream' must be a boolean", "stream"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"stop":[1]}"#, "'stop' must be a string or an array of strings", "stop"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"n":0}"#, "'n' must be between 1 and 128", "n"),
    ] as [(String, String, String?)])
    func rejectsBadFieldsNamingThem(body: String, message: String, param: String?) {
        do {
            _ = try parse(body)
            Issue.record("accepted \(body)")
        } catch {
            #expect(error.code == .invalidRequest)
            #expect(error.message.contains(message), "\(error.message)")
            #expect(error.param == param)
        }
    }

    @Test func paramsLeaveOutMessagesAndStreamFlags() throws {
        let r = try parse(#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"temperature":0,"user":"u"}"#)
        #expect(r.params.keys == ["model", "temperature"])
        #expect(r.user == "u")
    }

    @Test func errorBodyHasOpenAIShape() {
        let e = SluiceError(.upstreamError, "boom", details: ["upstream_status": 500])
        #expect(e.openAIBody.jsonString == #"{"error":{"message":"boom","type":"api_error","param":null,"code":"upstream_error","upstream_status":500}}"#)
    }
}
