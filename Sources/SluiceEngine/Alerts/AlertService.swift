import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import SluiceCore
import SluiceStore
import Synchronization

/// Evaluates `alerts.rules` every interval and posts what fires to the webhook
/// (Slack-compatible JSON with a human `text` line) and to the log. One alert per
/// rule and scope per window: per UTC day for spend and budget rules, per `window`
/// for rates. Deliveries are retried with backoff, and every alert, delivered or
/// not, is written to the audit log.
public final class AlertService: Service, Sendable {
    /// One alert that fired.
    public struct Alert: Sendable, Equatable {
        /// The rule's name.
        public var rule: String
        /// The metric.
        public var metric: String
        /// The purpose, or `all`.
        public var scope: String
        /// The measured value.
        public var value: Double
        /// The human line.
        public var text: String
    }

    let config: AlertsConfig
    let store: any SluiceStore
    let budget: BudgetGuard?
    let caps: [String: Double]
    let purposes: [String]
    let clock: any WallClock
    let logger: Logger
    private let quietUntil = Mutex([String: Date]())

    /// A service for `config.alerts`.
    public init(config: SluiceConfig, store: any SluiceStore, budget: BudgetGuard?, clock: any WallClock, logger: Logger) {
        self.config = config.alerts
        self.store = store
        self.budget = budget
        var caps: [String: Double] = [:]
        for (n, p) in config.purposes { if let c = p.dailyBudgetUSD { caps[n] = c } }
        self.caps = caps
        self.purposes = config.purposes.keys.sorted()
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        guard !config.rules.isEmpty else { return await gracefulShutdownNow() }
        let interval = Duration.milliseconds(Int64(config.intervalSeconds * 1000))
        while true {
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) } } catch { return }
            do { _ = try await evaluate() } catch {
                logger.warning("alert rules could not be evaluated; will retry", metadata: ["error": "\(error)"])
            }
        }
    }

    private func gracefulShutdownNow() async {
        try? await gracefulShutdown()
    }

    /// Evaluates every rule once, delivers what fires and is not quiet, and returns it.
    @discardableResult
    public func evaluate() async throws -> [Alert] {
        let now = clock.now()
        var fired: [Alert] = []
        for rule in config.rules {
            for (scope, value, text) in try await measure(rule, now: now) where rule.fires(value) {
                let key = rule.name + "|" + scope
                let until = [.errorRate, .schemaValidRate].contains(rule.metric)
                    ? now.addingTimeInterval(rule.windowSeconds)
                    : Windows.startOfDay(now).addingTimeInterval(86_400)
                let quiet = quietUntil.withLock { q -> Bool in
                    if let u = q[key], u > now { return true }
                    q[key] = until
                    return false
                }
                if quiet { continue }
                let alert = Alert(rule: rule.name, metric: rule.metric.rawValue, scope: scope, value: value, text: text)
                fired.append(alert)
                await deliver(alert, at: now)
            }
        }
        return fired
    }

    /// The rule's value per scope, with a sentence for people.
    func measure(_ rule: AlertRule, now: Date) async throws -> [(String, Double, String)] {
        let today = Windows.startOfDay(now)
        let end = now.addingTimeInterval(1)
        let scopes: [String?]
        switch rule.purpose {
        case nil: scopes = [nil]
        case "*"?:
            let seen = try await store.ledgerTotals(from: today.addingTimeInterval(-30 * 86_400), to: end, by: .purpose, purpose: nil)
            scopes = Array(Set(purposes + seen.compactMap(\.group))).sorted()
        case let p?: scopes = [p]
        }
        var out: [(String, Double, String)] = []
        for scope in scopes {
            let label = scope.map { "purpose '\($0)'" } ?? "all purposes"
            let name = scope ?? "all"
            func spent(_ from: Date, _ to: Date) async throws -> Double {
                try await store.ledgerTotals(from: from, to: to, by: nil, purpose: scope).first?.costUSD ?? 0
            }
            switch rule.metric {
            case .spendVs30dAvg:
                let todaySpend = try await spent(today, end)
                let avg = try await spent(today.addingTimeInterval(-30 * 86_400), today) / 30
                guard avg > 0 else { continue }
                let ratio = todaySpend / avg
                out.append((name, ratio, "Spend of \(label) today is \(Self.fmt(ratio))× its 30-day daily average ($\(Self.usd(todaySpend)) vs $\(Self.usd(avg)))."))
            case .dailySpendUSD:
                let v = try await spent(today, end)
                out.append((name, v, "Spend of \(label) today is $\(Self.usd(v))."))
            case .errorRate:
                let c = try await store.callCounts(from: now.addingTimeInterval(-rule.windowSeconds), to: end, purpose: scope)
                guard c.calls >= rule.minCalls else { continue }
                let rate = Double(c.errors) / Double(c.calls)
                out.append((name, rate, "Error rate of \(label) is \(Self.fmt(rate * 100))% (\(c.errors) of \(c.calls) calls in \(Int(rule.windowSeconds / 60)) min)."))
            case .breakerTripped:
                guard let scope, caps[scope] != nil else { continue }
                let tripped = budget?.isTripped(purpose: scope) == true
                out.append((name, tripped ? 1 : 0, "The daily budget of \(label) ($\(Self.usd(caps[scope]!))) is used up; its calls are refused until 00:00 UTC."))
            case .budgetUsedPct:
                guard let scope, let cap = caps[scope] else { continue }
                let pct = try await spent(today, end) / cap * 100
                out.append((name, pct, "The daily budget of \(label) is \(Self.fmt(pct))% used ($\(Self.usd(cap)) cap)."))
            case .schemaValidRate:
                var filter = CallFilter(purpose: scope, limit: 1000)
                filter.since = now.addingTimeInterval(-rule.windowSeconds)
                let checked = try await store.list(filter).compactMap(\.schemaValid)
                guard checked.count >= rule.minCalls else { continue }
                let rate = Double(checked.filter { $0 }.count) / Double(checked.count)
                out.append((name, rate, "Schema-valid rate of \(label) is \(Self.fmt(rate * 100))% over the last \(checked.count) checked answers."))
            case .evalScore:
                guard let scope, let latest = EvalScheduler.latestScore(try await store.evalScores(purpose: scope, limit: 100)) else { continue }
                out.append((name, latest.passRate, "The latest scheduled eval of \(label) (\(latest.suite)) passed \(Self.fmt(latest.passRate * 100))% of its cases."))
            case .refusalRate:
                guard let scope else { continue }
                let judged = try await store.callStats(purpose: scope, from: now.addingTimeInterval(-rule.windowSeconds), to: end, limit: 100_000)
                    .filter { $0.status == "ok" }.compactMap(\.refusal)
                guard judged.count >= rule.minCalls else { continue }
                let rate = Double(judged.filter { $0 }.count) / Double(judged.count)
                out.append((name, rate, "Refusal rate of \(label) is \(Self.fmt(rate * 100))% over the last \(judged.count) answers."))
            case .outputTokensShift:
                guard let scope else { continue }
                let start = now.addingTimeInterval(-rule.windowSeconds)
                let recent = DriftStats(try await store.callStats(purpose: scope, from: start, to: end, limit: 100_000))
                let base = DriftStats(try await store.callStats(purpose: scope, from: start.addingTimeInterval(-30 * 86_400), to: start, limit: 100_000))
                guard recent.calls >= rule.minCalls, base.calls >= rule.minCalls, let cur = recent.meanOutputTokens, let old = base.meanOutputTokens, old > 0
                else { continue }
                let change = (cur - old) / old * 100
                out.append((name, change, "Mean output tokens of \(label) moved \(Self.fmt(change))% (\(Self.fmt(old)) → \(Self.fmt(cur))) against the 30 days before."))
            case .feedbackNegativeRate, .sentimentShift, .inputLengthShift:
                guard let scope, let m = try await measureContent(rule, purpose: scope, label: label, now: now, end: end) else { continue }
                out.append((name, m.0, m.1))
            }
        }
        return out
    }

    /// Logs the alert, posts it (three tries with backoff) and audits the outcome.
    func deliver(_ alert: Alert, at now: Date) async {
        logger.warning(
            "alert", metadata: ["rule": "\(alert.rule)", "scope": "\(alert.scope)", "value": "\(alert.value)", "text": "\(alert.text)"])
        var outcome = "logged"
        if let webhook = config.webhook {
            let payload: JSON = [
                "text": .string("Sluice alert: " + alert.text),
                "alert": [
                    "rule": .string(alert.rule), "metric": .string(alert.metric), "scope": .string(alert.scope),
                    "value": .double(alert.value), "at": .string(Timestamp.iso8601(now)),
                ],
            ]
            outcome = "failed"
            for attempt in 1...3 {
                var req = HTTPClientRequest(url: webhook)
                req.method = .POST
                req.headers.add(name: "content-type", value: "application/json")
                req.body = .bytes(ByteBuffer(bytes: payload.serialized()))
                if let res = try? await HTTPClient.shared.execute(req, timeout: .seconds(10)), (200..<300).contains(Int(res.status.code)) {
                    outcome = "delivered"
                    break
                }
                if attempt < 3 { try? await Task.sleep(for: .milliseconds(500 << (attempt - 1))) }
            }
            if outcome == "failed" { logger.error("alert webhook failed after 3 tries", metadata: ["rule": "\(alert.rule)"]) }
        }
        try? await store.appendAudit(AuditEntry(
            id: IDs.make("aud", at: now), at: now, actor: "sluice", action: "alert", target: "\(alert.rule):\(alert.scope)",
            reason: alert.text, newValue: outcome))
    }

    static func fmt(_ v: Double) -> String { Decimals.format(v, places: 1, trim: true) }
    static func usd(_ v: Double) -> String { Decimals.format(v, places: 4, trim: true) }
}
