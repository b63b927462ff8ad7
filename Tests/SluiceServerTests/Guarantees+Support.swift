import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// The setup the `Guarantees+*` suites share (docs/guarantees.md): two priced fake
/// upstreams (`fast` on the primary, `chain` falling back to the backup, `smart` on the
/// backup for shadows, `emb` for embeddings), keys for scopes and rate limits, and one
/// purpose per policy, each with the prompt `ask` so that runs and prompt tasks can use
/// it as well as raw calls.
struct GuaranteeFixture {
    let primary: FakeUpstream
    let backup: FakeUpstream

    static let admin = ["Authorization": "Bearer admin-secret-guar-1"]
    static let app = ["Authorization": "Bearer app-secret-guar-1"]
    /// May use the purpose `open` only.
    static let narrow = ["Authorization": "Bearer narrow-secret-guar-1"]
    /// One request a minute.
    static let limited = ["Authorization": "Bearer limited-secret-guar-1"]

    /// What every answer reports: with the prices below a call costs $0.00101 and is
    /// reserved at about $0.00102, so `capped`'s daily $0.0015 fits one call, not two.
    static let usage = Usage(inputTokens: 10, outputTokens: 100)
    /// Text the output guards of `guarded` and `cut` block.
    static let secret = "Sure. The launch code is 0000, and more text follows here."
    /// What `schema` answers must match.
    static let schema = #"{ type: object, properties: { answer: { type: string } }, required: [answer], additionalProperties: false }"#

    /// A clock that stands still (the rpm window is a UTC minute): tests move it by hand.
    static func stillClock() -> ManualClock { ManualClock(Date(timeIntervalSince1970: 1_795_000_020)) }

    /// Runs `body` with two fresh fake upstreams answering `usage`, echoing the last user message.
    static func with(_ body: (GuaranteeFixture) async throws -> Void) async throws {
        let f = GuaranteeFixture(primary: try await FakeUpstream.start(), backup: try await FakeUpstream.start())
        var reply = FakeUpstream.Reply()
        reply.usage = usage
        f.primary.setDefault(reply)
        f.backup.setDefault(reply)
        do { try await body(f) } catch {
            await f.stop()
            throw error
        }
        await f.stop()
    }

    func stop() async {
        await primary.stop()
        await backup.stop()
    }

    /// The reply every answer gives unless a test scripts another.
    static func reply(_ text: String) -> FakeUpstream.Reply { .text(text, usage: usage) }

    /// The prompt `ask` in versions v1 and v2 (their system messages name them), `max_tokens: 100`.
    static func prompts() throws -> String {
        let dir = try PurposeCacheTests.promptsDir()
        try FileManager.default.createDirectory(atPath: dir + "/ask", withIntermediateDirectories: true)
        for v in ["v1", "v2"] {
            try """
                name: ask
                version: \(v)
                max_tokens: 100
                messages:
                  - role: system
                    content: "Answer (\(v))."
                  - role: user
                    content: "{{text}}"
                """.write(toFile: dir + "/ask/\(v).prompt.yaml", atomically: true, encoding: .utf8)
        }
        return dir
    }

    /// The config; `tracing` sends spans to a receiver.
    func config(tracing: OTLPReceiver? = nil) throws -> String {
        #"""
        auth:
          admin_key: admin-secret-guar-1
          keys:
            - { name: app, key: app-secret-guar-1 }
            - { name: narrow, key: narrow-secret-guar-1, purposes: [open] }
            - { name: limited, key: limited-secret-guar-1, rpm: 1 }
        providers:
          primary: { type: openai_compatible, base_url: "\#(primary.baseURL)" }
          backup: { type: openai_compatible, base_url: "\#(backup.baseURL)" }
        models:
          fast: { targets: [ { provider: primary, model: live-model-1 } ] }
          chain:
            targets:
              - { provider: primary, model: live-model-1 }
              - { provider: backup, model: backup-model-1, priority: 2 }
          smart: { targets: [ { provider: backup, model: shadow-model-1 } ] }
          emb: { targets: [ { provider: primary, model: embed-model-1 } ] }
        pricing:
          live-model-1: { input: 1, output: 10 }
          backup-model-1: { input: 1, output: 10 }
          shadow-model-1: { input: 1, output: 10 }
          embed-model-1: { input: 100, output: 0 }
        prompts_dir: "\#(try Self.prompts())"
        retry: { max_attempts: 2, base_ms: 1, max_ms: 5 }
        tasks: { workers: 2, timeout_s: 30 }
        purposes:
          open: { prompt: ask, model: fast }
          killed: { prompt: ask, model: fast }
          capped: { prompt: ask, model: fast, daily_budget_usd: 0.0015 }
          redacted: { prompt: ask, model: fast, pii: redact }
          strict: { prompt: ask, model: fast, pii: block }
          guarded:
            prompt: ask
            model: fast
            guards:
              input: [ { name: no_sql, deny: ["drop\\s+table"] } ]
              output: [ { name: no_secrets, deny: ["launch\\s+code"] } ]
          cut:
            prompt: ask
            model: fast
            stream_guard: incremental
            guards: { output: [ { name: no_secrets, deny: ["launch\\s+code"] } ] }
          cached: { prompt: ask, model: fast, cache: { ttl: 1h } }
          chained: { prompt: ask, model: chain }
          schema: { prompt: ask, model: fast, output_schema: \#(Self.schema), repair_attempts: 1 }
          reviewed: { prompt: ask, model: fast, review: { when: always } }
          shadowed: { prompt: ask, model: fast, shadow: { model: smart, sample: 1 } }
          split: { prompt: ask, prompt_version: v1, model: fast, variants: { v2: 100 } }
        \#(tracing.map { "tracing: { otlp_endpoint: \"\($0.endpoint)\", service_name: sluice-guarantees, sample_ratio: 1 }" } ?? "")
        """#
    }

    /// `key`'s headers with `X-Sluice-Purpose`.
    static func headers(_ key: [String: String], purpose: String, _ more: [String: String] = [:]) -> [String: String] {
        key.merging(["X-Sluice-Purpose": purpose]) { $1 }.merging(more) { $1 }
    }

    /// Switches `purpose` off through the admin API.
    static func kill(_ h: Harness, purpose: String) async throws {
        let r = try await h.request(.POST, "/admin/kill", body: #"{"purpose":"\#(purpose)","reason":"incident 7"}"#, headers: admin)
        #expect(r.status == 200, "\(r.text)")
    }

    /// A refused call: its status, a JSON body (never a stream), and a call record with that status.
    static func expectRefused(
        _ h: Harness, _ r: HTTPResult, _ status: Int, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        #expect(r.status == status, "\(r.text)", sourceLocation: sourceLocation)
        #expect(r.header("content-type")?.hasPrefix("application/json") == true, "\(r.text)", sourceLocation: sourceLocation)
        let rec = try await h.record(r.header("X-Sluice-Call-Id"))
        #expect(rec.status == .error && rec.httpStatus == status, sourceLocation: sourceLocation)
    }

    /// The Prometheus text after the call log caught up.
    static func metrics(_ h: Harness) async throws -> String {
        await h.gateway.callLog.flush()
        return try await h.request(.GET, "/metrics").text
    }

    /// The span of each call in `ids` (kind 2, server, for a request; 1, internal, for a call
    /// Sluice makes itself, such as a task's) and one attempt span under it, once the receiver has them.
    static func expectSpans(
        _ receiver: OTLPReceiver, _ ids: [String], kind: Int = 2, sourceLocation: SourceLocation = #_sourceLocation
    ) async {
        let spans = await receiver.waitFor { spans in
            ids.allSatisfy { id in spans.contains { $0.string("sluice.call_id") == id && $0.kind == kind } }
        }
        for id in ids {
            let call = spans.first { $0.string("sluice.call_id") == id && $0.kind == kind }
            #expect(call != nil, "no span of kind \(kind) for call \(id)", sourceLocation: sourceLocation)
            let attempt = spans.first { $0.string("sluice.call_id") == id && $0.kind == 3 }
            #expect(attempt != nil && attempt?.parentSpanID == call?.spanID, "no attempt span under call \(id)", sourceLocation: sourceLocation)
        }
    }

    /// The text of an OpenAI SSE body.
    static func streamedText(_ body: [UInt8]) -> String {
        Harness.events(body).compactMap { try? JSON.parse(Array($0.utf8)) }
            .compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
    }
}
