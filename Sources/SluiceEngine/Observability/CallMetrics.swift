import Foundation
import Prometheus
import SluiceCore
import Synchronization

/// Per-call Prometheus series, fed by every finished call record: requests by
/// purpose, model, provider and status; latency and time-to-first-token
/// histograms; tokens; cost; cache lookups and savings. Labels come only from
/// the config (purposes, model names, providers) so a client cannot grow them:
/// anything else is counted as `other`.
public final class CallMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let purposes: Set<String>
    let models: Set<String>
    let providers: Set<String>

    struct Key: Hashable {
        var purpose: String
        var model: String
        var provider: String
        var status: String
    }

    struct Series {
        var requests: Counter
        var latency: DurationHistogram
        var ttft: DurationHistogram
        var input: Counter
        var output: Counter
        var cached: Counter
        var cost: Counter
    }

    private let series = Mutex<[Key: Series]>([:])
    private let cacheSeries = Mutex<[String: Counter]>([:])

    static let latencyBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(120),
    ]

    init(registry: PrometheusCollectorRegistry, config: SluiceConfig) {
        self.registry = registry
        var p = Set(config.purposes.keys)
        for name in config.purposes.keys { p.formUnion(["\(name):shadow", "\(name):eval"]) }
        p.formUnion(["default", "eval", "eval:judge"])
        purposes = p
        models = Set(config.models.map(\.name))
        providers = Set(config.providers.map(\.name))
    }

    func bounded(_ value: String?, _ allowed: Set<String>) -> String {
        guard let value else { return "none" }
        return allowed.contains(value) ? value : "other"
    }

    /// Counts one finished call.
    func observe(_ r: CallRecord) {
        let key = Key(
            purpose: bounded(r.purpose, purposes), model: bounded(r.model, models), provider: bounded(r.provider, providers),
            status: r.status.rawValue)
        let s = series.withLock { map -> Series in
            if let s = map[key] { return s }
            let s = make(key)
            map[key] = s
            return s
        }
        s.requests.increment()
        s.latency.record(.nanoseconds(Int64(max(0, r.latencyMs) * 1_000_000)))
        if let t = r.ttftMs { s.ttft.record(.nanoseconds(Int64(max(0, t) * 1_000_000))) }
        if r.usage.inputTokens > 0 { s.input.increment(by: Int64(r.usage.inputTokens)) }
        if r.usage.outputTokens > 0 { s.output.increment(by: Int64(r.usage.outputTokens)) }
        if r.usage.cachedTokens > 0 { s.cached.increment(by: Int64(r.usage.cachedTokens)) }
        if let c = r.costUSD, c > 0 { s.cost.increment(by: c) }
        if r.cache != "bypass" {
            cache(key.purpose, r.cache).increment()
            if r.savedUSD > 0 { cache(key.purpose, "saved_usd").increment(by: r.savedUSD) }
        }
    }

    private func make(_ k: Key) -> Series {
        let labels = [("purpose", k.purpose), ("model", k.model), ("provider", k.provider), ("status", k.status)]
        let short = [("purpose", k.purpose), ("model", k.model)]
        func counter(_ name: String, _ help: String, _ labels: [(String, String)]) -> Counter {
            registry.makeCounter(descriptor: MetricNameDescriptor(namespace: "sluice", metricName: name, unitName: "", helpText: help), labels: labels)
        }
        func tokens(_ type: String) -> Counter {
            counter("tokens_total", "Tokens by purpose, model and type (input, output, cached).", short + [("type", type)])
        }
        func histogram(_ name: String, _ help: String) -> DurationHistogram {
            registry.makeDurationHistogram(
                descriptor: MetricNameDescriptor(namespace: "sluice", metricName: name, unitName: "seconds", helpText: help),
                labels: short, buckets: Self.latencyBuckets)
        }
        return Series(
            requests: counter("requests_total", "Calls by purpose, model, provider and status (ok, error, degraded, stream_interrupted).", labels),
            latency: histogram("request_duration", "Whole-call latency, retries and fallbacks included."),
            ttft: histogram("time_to_first_token", "Streams: time to the first token."),
            input: tokens("input"), output: tokens("output"), cached: tokens("cached"),
            cost: counter("cost_usd_total", "Spend in USD by purpose and model (priced calls).", short))
    }

    private func cache(_ purpose: String, _ result: String) -> Counter {
        let key = purpose + "\u{0}" + result
        return cacheSeries.withLock { map in
            if let c = map[key] { return c }
            let c: Counter
            if result == "saved_usd" {
                c = registry.makeCounter(
                    descriptor: MetricNameDescriptor(namespace: "sluice", metricName: "cache_saved_usd_total", unitName: "", helpText: "USD saved by cache hits."),
                    labels: [("purpose", purpose)])
            } else {
                c = registry.makeCounter(
                    descriptor: MetricNameDescriptor(
                        namespace: "sluice", metricName: "cache_lookups_total", unitName: "", helpText: "Response cache lookups by result (hit, semantic_hit, miss)."),
                    labels: [("purpose", purpose), ("result", result)])
            }
            map[key] = c
            return c
        }
    }
}
