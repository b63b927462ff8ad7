import Foundation
import SluiceStore

extension LedgerStore {
    /// Each purpose's spend so far today (UTC) from the ledger, exactly as the daily budgets count it.
    func spendToday(now: Date) async throws -> [String: Double] {
        let rows = try await ledgerTotals(from: Windows.startOfDay(now), to: now.addingTimeInterval(1), by: .purpose, purpose: nil)
        return Dictionary(rows.compactMap { t in t.group.map { ($0, t.costUSD) } }, uniquingKeysWith: +)
    }
}
