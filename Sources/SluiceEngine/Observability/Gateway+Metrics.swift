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
            let byPurpose = (try? await store.spendToday(now: clock.now())) ?? [:]
            for (purpose, cap) in caps { depths.budgetRemaining[purpose] = max(0, cap - (byPurpose[purpose] ?? 0)) }
        }
        return depths
    }
}
