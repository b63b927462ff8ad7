import Foundation

/// The order in which one call tries a model's targets: priority ascending;
/// among equal priorities a weighted random order, so that load is shared by
/// `weight` and a failed target falls back to its peers before the next priority.
enum RoutePlan {
    /// `targets` (already sorted by priority) in the order to try them. `unit`
    /// draws a number in (0, 1]; injected so tests can pin it.
    static func order(
        _ targets: [ResolvedTarget], unit: () -> Double = { Double.random(in: Double.ulpOfOne...1) }
    ) -> [ResolvedTarget] {
        guard targets.count > 1 else { return targets }
        var out: [ResolvedTarget] = []
        out.reserveCapacity(targets.count)
        var i = 0
        while i < targets.count {
            var j = i + 1
            while j < targets.count, targets[j].priority == targets[i].priority { j += 1 }
            if j - i == 1 {
                out.append(targets[i])
            } else {
                // Weighted random permutation (Efraimidis–Spirakis): sort by u^(1/w), largest first.
                let keyed = targets[i..<j].map { t in (key: pow(unit(), 1 / max(t.weight, 1e-9)), target: t) }
                out.append(contentsOf: keyed.sorted { $0.key > $1.key }.map(\.target))
            }
            i = j
        }
        return out
    }
}
