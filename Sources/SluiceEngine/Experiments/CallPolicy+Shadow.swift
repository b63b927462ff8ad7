import SluiceCore

extension CallPolicy {
    /// The policy of a purpose's shadow runs: the purpose's own (privacy, guards,
    /// schema and repairs, retries, deadline) without what only a live answer may
    /// do: no cache, no degraded `fallback_response`, no human review.
    var forShadow: CallPolicy {
        var p = self
        p.cache = nil
        p.fallbackResponse = nil
        p.review = .never
        return p
    }
}

extension CallPolicies {
    /// The policy of `PURPOSE:shadow` for a configured `PURPOSE`; `nil` for any other name.
    func shadowPolicy(for purpose: String) -> CallPolicy? {
        guard let base = ShadowNames.basePurpose(of: purpose) else { return nil }
        return byPurpose[base]?.forShadow
    }
}

/// How shadow runs are named: their calls and ledger entries carry `PURPOSE:shadow`.
public enum ShadowNames {
    /// The suffix of a shadow run's purpose.
    public static let suffix = ":shadow"

    /// `triage` → `triage:shadow`.
    public static func purpose(of base: String) -> String { base + suffix }

    /// `triage:shadow` → `triage`; `nil` for a name that is not a shadow's.
    public static func basePurpose(of purpose: String) -> String? {
        guard purpose.hasSuffix(suffix), purpose.count > suffix.count else { return nil }
        return String(purpose.dropLast(suffix.count))
    }
}
