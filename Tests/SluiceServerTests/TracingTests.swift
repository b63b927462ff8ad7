import Foundation
import SluiceCore
import SluiceEngine
import SluiceTesting
import Testing

/// OpenTelemetry traces: spans arrive at a local OTLP/HTTP receiver with the
/// GenAI attributes, join the client's trace, and carry it upstream; without
/// `tracing:` nothing is sent and no header is added.
@Suite struct TracingTests {
    static let clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let clientSpan = "00f067aa0ba902b7"

    static func config(_ upstream: FakeUpstream, receiver: OTLPReceiver?, sampleRatio: Double = 1) throws -> String {
        """
        providers:
          up: { type: openai_compatible, base_url: "\(upstream.baseURL)" }
        models:
          fast: { targets: [ { provider: up, model: gpt-4o-mini } ] }
        pricing:
          gpt-4o-mini: { input: 1.0, output: 2.0, cached_input: 0.5 }
        prompts_dir: "\(try PurposeCacheTests.withTriage())"
        purposes:
          triage: { prompt: triage, model: fast }
        \(noRetry)
        \(receiver.map { "tracing: { otlp_endpoint: \"\($0.endpoint)\", service_name: sluice-test, sample_ratio: \(sampleRatio) }" } ?? "")
        """
    }

    /// A purpose run under a client `traceparent`, a stream and a failing call:
    /// a server span per call with the gen_ai.* and sluice.* attributes (equal to
    /// the stored record), a client span per attempt under it, and the attempt's
    /// context sent upstream as `traceparent`.
    @Test func spansCarryGenAIAttributesAndJoinTheClientTrace() async throws {
        let receiver = try await OTLPReceiver.start()
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop(); await receiver.stop() } }
        upstream.setDefault(.text(#"{"label":"billing"}"#, model: "gpt-4o-mini-2024-07-18", usage: Usage(inputTokens: 100, outputTokens: 20, cachedTokens: 40)))
        var records: [String: CallRecord] = [:]
        var ids: (run: String, stream: String, failed: String) = ("", "", "")
        try await Harness.with(try Self.config(upstream, receiver: receiver)) { h in
            #expect(h.gateway.traces != nil)
            let run = try await h.request(
                .POST, "/v1/purposes/triage/run", body: #"{"variables":{"ticket":"x"}}"#,
                headers: ["traceparent": "00-\(Self.clientTrace)-\(Self.clientSpan)-01", "tracestate": "vendor=abc"])
            #expect(run.status == 200, "\(run.text)")
            ids.run = try #require(run.header("X-Sluice-Call-Id"))
            let stream = try await h.chat(#"{"model":"fast","stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(stream.status == 200 && stream.text.contains("[DONE]"))
            ids.stream = try #require(stream.header("X-Sluice-Call-Id"))
            upstream.enqueue(.status(500, message: "upstream broke"))
            let failed = try await h.chat(simpleChat)
            #expect(failed.status == 502)
            ids.failed = try #require(failed.header("X-Sluice-Call-Id"))
            for id in [ids.run, ids.stream, ids.failed] { records[id] = try await h.record(id) }
        }
        // The gateway has stopped: the batch processor flushed what it held on the way out.
        let spans = await receiver.waitFor { spans in [ids.run, ids.stream, ids.failed].allSatisfy { id in spans.contains { $0.string("sluice.call_id") == id && $0.kind == 2 } } }
        func callSpan(_ id: String) throws -> ReceivedSpan { try #require(spans.first { $0.string("sluice.call_id") == id && $0.kind == 2 }) }
        func attemptSpans(_ id: String) -> [ReceivedSpan] { spans.filter { $0.string("sluice.call_id") == id && $0.kind == 3 } }

        // The purpose run: a child of the client's span, with every GenAI attribute.
        let call = try callSpan(ids.run)
        let record = try #require(records[ids.run])
        #expect(call.traceID == Self.clientTrace && call.parentSpanID == Self.clientSpan)
        #expect(call.name == "chat fast")
        #expect(call.resource["service.name"] == .string("sluice-test"))
        #expect(call.string("gen_ai.operation.name") == "chat")
        #expect(call.string("gen_ai.provider.name") == "up")
        #expect(call.string("gen_ai.request.model") == "fast")
        #expect(call.string("gen_ai.response.model") == "gpt-4o-mini-2024-07-18" && record.answeredModel == "gpt-4o-mini-2024-07-18")
        #expect(call.int("gen_ai.usage.input_tokens") == record.usage.inputTokens && record.usage.inputTokens == 100)
        #expect(call.int("gen_ai.usage.output_tokens") == record.usage.outputTokens && record.usage.outputTokens == 20)
        #expect(call.int("gen_ai.usage.cache_read.input_tokens") == record.usage.cachedTokens && record.usage.cachedTokens == 40)
        #expect(call.strings("gen_ai.response.finish_reasons") == ["stop"])
        #expect(call.string("gen_ai.prompt.name") == "triage" && record.promptName == "triage")
        #expect(call.string("sluice.prompt_version") == "v1" && record.promptVersion == "v1")
        #expect(call.string("sluice.purpose") == "triage")
        let cost = try #require(record.costUSD)
        #expect(cost > 0 && call.double("sluice.cost_usd") == cost)
        #expect(call.int("http.response.status_code") == 200 && call.statusCode != 2)
        #expect(call.endNanos >= call.startNanos && call.startNanos > 0)

        // Its one attempt: a client span under it, whose context went upstream.
        let attempts = attemptSpans(ids.run)
        #expect(attempts.count == 1)
        let attempt = try #require(attempts.first)
        #expect(attempt.traceID == Self.clientTrace && attempt.parentSpanID == call.spanID)
        #expect(attempt.name == "chat gpt-4o-mini")
        #expect(attempt.string("gen_ai.request.model") == "gpt-4o-mini" && attempt.string("gen_ai.provider.name") == "up")
        #expect(attempt.int("http.response.status_code") == 200)
        let sent = upstream.received.compactMap { $0.headers["traceparent"] }
        #expect(sent.count == 3)
        #expect(sent.first == "00-\(Self.clientTrace)-\(attempt.spanID)-01")
        #expect(upstream.received.first?.headers["tracestate"] == "vendor=abc")

        // The stream: a new trace, ended with the stream, with the stream's usage.
        let streamed = try callSpan(ids.stream)
        let streamRecord = try #require(records[ids.stream])
        #expect(streamed.parentSpanID.isEmpty && streamed.traceID != Self.clientTrace)
        #expect(streamed.int("gen_ai.usage.input_tokens") == streamRecord.usage.inputTokens)
        #expect(streamed.int("gen_ai.usage.output_tokens") == streamRecord.usage.outputTokens)
        #expect(streamed.strings("gen_ai.response.finish_reasons") == ["stop"])
        #expect(streamed.double("sluice.cost_usd") == streamRecord.costUSD)
        let streamAttempt = try #require(attemptSpans(ids.stream).first)
        #expect(streamAttempt.parentSpanID == streamed.spanID && streamAttempt.traceID == streamed.traceID)
        #expect(sent.contains("00-\(streamed.traceID)-\(streamAttempt.spanID)-01"))
        #expect(streamed.endNanos - streamed.startNanos >= streamAttempt.endNanos - streamAttempt.startNanos)

        // The failure: both spans in error, the attempt with the upstream's status.
        let failed = try callSpan(ids.failed)
        #expect(failed.statusCode == 2 && failed.string("error.type") == "502")
        #expect(failed.int("http.response.status_code") == 502)
        let failedAttempt = try #require(attemptSpans(ids.failed).first)
        #expect(failedAttempt.statusCode == 2 && failedAttempt.int("http.response.status_code") == 500)
        #expect(failedAttempt.statusMessage.contains("upstream broke"))
    }

    /// `sample_ratio: 0` drops new traces (their context still goes upstream, marked not sampled),
    /// while a client's sampled trace is kept: the client's flag decides for its own trace.
    @Test func sampleRatioAppliesToNewTracesOnly() async throws {
        let receiver = try await OTLPReceiver.start()
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop(); await receiver.stop() } }
        var ids: [String] = []
        try await Harness.with(try Self.config(upstream, receiver: receiver, sampleRatio: 0)) { h in
            let own = try await h.chat(simpleChat)
            let joined = try await h.chat(simpleChat, headers: ["traceparent": "00-\(Self.clientTrace)-\(Self.clientSpan)-01"])
            #expect(own.status == 200 && joined.status == 200)
            ids = [try #require(own.header("X-Sluice-Call-Id")), try #require(joined.header("X-Sluice-Call-Id"))]
        }
        let spans = await receiver.waitFor { spans in spans.contains { $0.string("sluice.call_id") == ids[1] && $0.kind == 2 } }
        #expect(!spans.contains { $0.string("sluice.call_id") == ids[0] })
        #expect(spans.filter { $0.string("sluice.call_id") == ids[1] }.map(\.kind).sorted() == [2, 3])
        let sent = upstream.received.compactMap { $0.headers["traceparent"] }
        #expect(sent.count == 2 && sent[0].hasSuffix("-00") && !sent[0].contains(Self.clientTrace))
        #expect(sent[1].hasPrefix("00-\(Self.clientTrace)-") && sent[1].hasSuffix("-01"))
    }

    /// Without `tracing:`: no tracer, no exporter, and the client's trace headers are not passed upstream.
    @Test func withoutTracingNothingIsSentAndNoHeaderAdded() async throws {
        let receiver = try await OTLPReceiver.start()
        let upstream = try await FakeUpstream.start()
        defer { Task { await upstream.stop(); await receiver.stop() } }
        try await Harness.with(try Self.config(upstream, receiver: nil)) { h in
            #expect(h.gateway.traces == nil)
            let res = try await h.chat(simpleChat, headers: ["traceparent": "00-\(Self.clientTrace)-\(Self.clientSpan)-01"])
            #expect(res.status == 200)
        }
        #expect(upstream.requestCount == 1)
        #expect(upstream.received.allSatisfy { $0.headers["traceparent"] == nil && $0.headers["tracestate"] == nil })
        try await Task.sleep(for: .milliseconds(300))
        #expect(receiver.spans.isEmpty)
    }

    /// Bad `tracing:` values are config errors naming the key.
    @Test func badTracingConfigNamesTheKey() throws {
        func error(_ tracing: String) -> String {
            do {
                _ = try ConfigLoader.parse("tracing: \(tracing)\n", environment: [:])
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(error(#"{ otlp_endpoint: "ftp://collector:4318" }"#).hasPrefix("tracing.otlp_endpoint (line 1): "))
        #expect(error(#"{ otlp_endpoint: "http://c:4318", sample_ratio: 1.5 }"#).hasPrefix("tracing.sample_ratio (line 1): "))
        #expect(error(#"{ otlp_endpoint: "http://c:4318", sample: 1 }"#).contains("tracing.sample (line 1): unknown key 'sample'"))
        #expect(error(#"{ service_name: x }"#).contains("tracing needs otlp_endpoint"))
        #expect(error(#"{ otlp_endpoint: "http://c:4318", service_name: "" }"#).hasPrefix("tracing.service_name (line 1): "))
        let c = try ConfigLoader.parse(#"tracing: { otlp_endpoint: "http://c:4318/", sample_ratio: 0.25, headers: { x-api-key: k } }"#, environment: [:])
        #expect(c.tracing?.tracesURL == "http://c:4318/v1/traces" && c.tracing?.sampleRatio == 0.25 && c.tracing?.serviceName == "sluice")
        #expect(c.tracing?.headers == ["x-api-key": "k"])
        #expect(try ConfigLoader.parse("server: { port: 0 }\n", environment: [:]).tracing == nil)
    }
}
