import Foundation
import Logging
import ServiceLifecycle
import SluiceCore
import SluiceStore

/// `evals: [{suite, every}]`: runs each suite against the live config once per
/// period, on one node (the period's slot is claimed in the store), and stores a
/// score per prompt version × model for drift reports and `eval_score` alerts.
///
/// One runs among ``Gateway/services``: it looks for due suites at start and then
/// every `tick`, reading `evals:` from the live config, so a reload adds, drops or
/// re-times suites without a restart. A graceful shutdown cancels a run in flight;
/// its scores are not stored (the claimed period is not run again).
public final class EvalScheduler: Service, Sendable {
    let gateway: Gateway
    let tick: Duration

    init(gateway: Gateway, tick: Duration = .seconds(30)) {
        self.gateway = gateway
        self.tick = tick
    }

    /// The scheduled suites in force: the live config's `evals:`.
    public var evals: [SluiceConfig.ScheduledEval] { gateway.live.config.evals }

    public func run() async throws {
        while true {
            _ = await cancelWhenGracefulShutdown { await self.runDue() }
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: self.tick) } } catch { return }
        }
    }

    /// Runs every suite whose current period this node claims; returns the scores stored.
    @discardableResult
    public func runDue() async -> [EvalScore] {
        var stored: [EvalScore] = []
        let now = gateway.clock.now()
        for e in evals where !Task.isCancelled {
            let slot = Int64((now.timeIntervalSince1970 / e.everySeconds).rounded(.down))
            do {
                let suite = try EvalSuite.load(path: e.suitePath)
                guard try await gateway.store.claimEvalSlot(suite: suite.name, slot: slot, node: gateway.node, at: now) else { continue }
                let scores = try await run(suite)
                try await gateway.store.addEvalScores(scores)
                stored += scores
                gateway.logger.info(
                    "scheduled eval ran",
                    metadata: ["suite": "\(suite.name)", "pass_rate": "\(scores.map { Decimals.format($0.passRate, places: 3, trim: true) })"])
            } catch is CancellationError {
                gateway.logger.warning("scheduled eval stopped by shutdown; its scores are not stored", metadata: ["suite": "\(e.suitePath)"])
                return stored
            } catch {
                gateway.logger.error("scheduled eval failed", metadata: ["suite": "\(e.suitePath)", "error": "\(error)"])
            }
        }
        return stored
    }

    /// Runs one suite through the engine and turns its rows into scores.
    func run(_ suite: EvalSuite) async throws -> [EvalScore] {
        let plan = try EvalPlan.make(suite: suite, config: gateway.live.config, prompts: gateway.prompts.library)
        let runner = EvalRunner(gateway: gateway)
        let report = EvalReport(plan: plan, runs: await runner.run(plan))
        try Task.checkCancellation()
        let purpose = suite.purpose ?? suite.prompt ?? suite.name
        let at = gateway.clock.now()
        await gateway.callLog.flush()
        var scores: [EvalScore] = []
        for (i, row) in report.rows.enumerated() {
            let calls = report.runs.filter { $0.variant == row.variant && $0.model == row.model }.compactMap(\.callID)
            var answered: [String: Int] = [:]
            for id in calls { if let m = try await gateway.store.get(id)?.answeredModel { answered[m, default: 0] += 1 } }
            scores.append(EvalScore(
                id: IDs.make("evs", at: at.addingTimeInterval(Double(i) / 1000)), suite: suite.name, purpose: purpose,
                promptVersion: row.promptVersion, model: row.model, answeredModel: answered.max { $0.value < $1.value }?.key,
                cases: row.runs, passRate: row.passRate, judgeMean: row.judge?.mean, costUSD: (row.costUSD ?? 0) + row.judgeCostUSD, at: at))
        }
        return scores
    }

    /// The latest run among `scores` (newest first): its suite and mean pass rate over its rows.
    public static func latestScore(_ scores: [EvalScore]) -> (suite: String, passRate: Double, at: Date)? {
        guard let first = scores.first else { return nil }
        let run = scores.filter { $0.suite == first.suite && $0.at == first.at }
        return (first.suite, run.map(\.passRate).reduce(0, +) / Double(run.count), first.at)
    }
}
