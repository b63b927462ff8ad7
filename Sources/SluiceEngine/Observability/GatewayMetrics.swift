import Foundation
import Prometheus
import SluiceCore
import SluiceProviders
import SluiceStore
import Synchronization

/// The gateway's Prometheus metrics, exposed at `GET /metrics`. Each gateway
/// owns its registry (no global bootstrap), so several can live in one process.
public final class GatewayMetrics: Sendable {
    /// The registry every Sluice metric is made in.
    public let registry: PrometheusCollectorRegistry
    let breakers: BreakerBoard
    let targetKeys: [String]
    /// The providers' key pools (`api_keys:`), whose per-key gauges each scrape refreshes.
    let keyPools: [SharedKeyPool]
    /// Per-call series (requests, latency, tokens, cost, cache).
    public let calls: CallMetrics
    private let breakerGauges = Mutex<[String: (state: [String: Gauge], opened: Gauge)]>([:])

    static let states = ["closed", "open", "half_open"]
    static var stateName: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "sluice", subsystem: "breaker", metricName: "state", unitName: "",
        helpText: "1 for the state the target's circuit breaker is in (closed, open, half_open), 0 for the others.") }
    static var openedName: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "sluice", subsystem: "breaker", metricName: "opened", unitName: "",
        helpText: "How many times the target's circuit breaker opened since this node started.") }

    init(
        registry: PrometheusCollectorRegistry, calls: CallMetrics, breakers: BreakerBoard, targetKeys: [String],
        keyPools: [SharedKeyPool] = []
    ) {
        self.registry = registry
        self.calls = calls
        self.breakers = breakers
        self.targetKeys = targetKeys
        self.keyPools = keyPools
        registry.makeGauge(descriptor: Self.buildInfoName, labels: [("version", SluiceVersion.current)]).set(to: 1)
    }

    /// `sluice_build_info{version}`: always 1; the label says which release this node runs.
    static var buildInfoName: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "sluice", subsystem: "build", metricName: "info", unitName: "",
        helpText: "Always 1; the version label is the Sluice release this node runs (as sluice --version and GET /healthz say).") }

    /// The metrics in Prometheus text format; breaker, queue and budget gauges are refreshed first.
    public func exposition(queues: QueueDepths? = nil) -> [UInt8] {
        refreshBreakers()
        refreshKeyPools()
        if let queues { refresh(queues) }
        var out: [UInt8] = []
        registry.emit(into: &out)
        return out
    }

    /// What the scrape reads from the node and the store.
    public struct QueueDepths: Sendable {
        /// Call records waiting for the writer.
        public var callLogPending: Int
        /// Tasks by status.
        public var tasks: [String: Int]
        /// Each capped purpose's budget left today, in USD.
        public var budgetRemaining: [String: Double]

        /// Depths; see the properties.
        public init(callLogPending: Int, tasks: [String: Int], budgetRemaining: [String: Double]) {
            self.callLogPending = callLogPending
            self.tasks = tasks
            self.budgetRemaining = budgetRemaining
        }
    }

    func gauge(_ name: String, _ help: String, _ labels: [(String, String)]) -> Gauge {
        registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "sluice", metricName: name, unitName: "", helpText: help), labels: labels)
    }

    func refresh(_ q: QueueDepths) {
        gauge("call_log_pending", "Call records queued for the store on this node.", []).set(to: Double(q.callLogPending))
        for status in TaskRecord.Status.allCases {
            gauge("tasks", "Durable tasks by status (shared by every node).", [("status", status.rawValue)])
                .set(to: Double(q.tasks[status.rawValue] ?? 0))
        }
        for (purpose, left) in q.budgetRemaining {
            gauge("budget_remaining_usd", "What a purpose may still spend today (UTC) under daily_budget_usd.", [("purpose", purpose)])
                .set(to: left)
        }
    }

    /// `sluice_breaker_state{target,state}` is 1 for the state a target's breaker is in and 0
    /// for the others; `sluice_breaker_opened` counts how often it opened since start.
    func refreshBreakers() {
        let seen = Dictionary(breakers.snapshot().map { ($0.target, $0) }, uniquingKeysWith: { a, _ in a })
        // Configured targets only: clients' PROVIDER/MODEL names must not grow the label set.
        let keys = targetKeys
        breakerGauges.withLock { gauges in
            for key in keys {
                if gauges[key] == nil {
                    var byState: [String: Gauge] = [:]
                    for s in Self.states {
                        byState[s] = registry.makeGauge(descriptor: Self.stateName, labels: [("target", key), ("state", s)])
                    }
                    let opened = registry.makeGauge(descriptor: Self.openedName, labels: [("target", key)])
                    gauges[key] = (byState, opened)
                }
                let state = seen[key]?.state ?? "closed"
                for (s, g) in gauges[key]!.state { g.set(to: s == state ? 1.0 : 0.0) }
                gauges[key]!.opened.set(to: Double(seen[key]?.timesOpened ?? 0))
            }
        }
    }
}
