import Benchmark
import Foundation
import SluiceCore
@_spi(Benchmarks) import SluiceEngine
@_spi(Benchmarks) import SluiceStore

/// The pieces of one chat call's path through Sluice that run on the event loop:
/// decoding the request, the cache key, a budget reservation, and the call record
/// (its log line and its row). Each benchmark runs one piece per iteration.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        warmupIterations: 1_000,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 1_000_000)

    Benchmark("request decode (parse + ChatRequest)") { benchmark in
        for _ in benchmark.scaledIterations {
            let json = try JSON.parse(Fixtures.requestBody)
            blackHole(try ChatRequest(body: json))
        }
    }

    Benchmark("cache key (the exact digest a lookup computes)") { benchmark in
        let body = try JSON.parse(Fixtures.requestBody).objectValue ?? JSONObject()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(CacheKey(purpose: "triage", model: "bench", body: body, prompt: nil))
        }
    }

    Benchmark("budget reservation (reserve + settle from a leased slice)") { benchmark in
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-micro-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteStore(path: dir.appendingPathComponent("quota.db").path)
        try await store.migrate()
        let leaser = QuotaLeaser(store: store, node: "bench", clock: SystemClock())
        // The first reservation leases a slice from the store; the measured ones come out of it in memory.
        let slice = Int64.max / 4
        _ = try await leaser.reserve(scope: "purpose:triage", window: "2026-11-24", cap: .max / 2, amount: 1, slice: slice)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let r = try await leaser.reserve(scope: "purpose:triage", window: "2026-11-24", cap: .max / 2, amount: 7_350, slice: slice)
            leaser.settle(r!, actual: 4_200)
        }
    }

    Benchmark("record encode (log line + row cells)") { benchmark in
        let record = Fixtures.record()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(CallLogLineBenchmark.line(record))
            blackHole(CallRowBenchmark.encode(record))
        }
    }
}

/// Inputs shaped like the bench's own call (`bench/run.sh`).
enum Fixtures {
    static let requestBody: [UInt8] = Array(
        #"{"model":"bench","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Summarize the plot of Hamlet in two sentences."}],"temperature":0.2,"max_tokens":200}"#
            .utf8)

    static func record() -> CallRecord {
        var r = CallRecord(
            callID: "call_01a20b4f17aeaf08326919ecd9e9", createdAt: Date(), purpose: "triage", model: "bench",
            inputHash: String(repeating: "a", count: 64))
        r.provider = "fake"
        r.answeredModel = "gpt-4o-mini-2024-07-18"
        r.keyName = "app"
        r.runID = "run-42"
        r.cache = "miss"
        r.attempts = [Attempt(provider: "fake", model: "gpt-4o-mini-2024-07-18", status: 200, latencyMs: 1.2, error: nil)]
        r.usage = Usage(inputTokens: 31, outputTokens: 9)
        r.costUSD = 0.00000735
        r.latencyMs = 1.5
        r.overheadMs = 0.3
        r.params = ["temperature": 0.2, "max_tokens": 200]
        r.requestBody = String(decoding: requestBody, as: UTF8.self)
        r.output = "Hello! How can I assist you today?"
        return r
    }
}
