import Foundation
import SluiceCore
import SluiceStore

extension Gateway {
    /// The scrape's view of queues and budgets: the node's call-log queue, tasks by status and
    /// each capped purpose's budget left today. A store that does not answer leaves those out.
    public func queueDepths() async -> GatewayMetrics.QueueDepths {
        var depths = GatewayMetrics.QueueDepths(callLogPending: callLog.pending, tasks: [:], budgetRemaining: [:])
        depths.tasks = (try? await store.taskCounts()) ?? [:]
        let caps = budget.dailyCaps
        if !caps.isEmpty {
            let today = Windows.startOfDay(clock.now())
            let spent = (try? await store.ledgerTotals(from: today, to: clock.now().addingTimeInterval(1), by: .purpose, purpose: nil)) ?? []
            let byPurpose = Dictionary(spent.compactMap { t in t.group.map { ($0, t.costUSD) } }, uniquingKeysWith: +)
            for (purpose, cap) in caps { depths.budgetRemaining[purpose] = max(0, cap - (byPurpose[purpose] ?? 0)) }
        }
        return depths
    }
}
