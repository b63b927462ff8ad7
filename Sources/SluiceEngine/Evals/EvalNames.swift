import SluiceCore

/// How eval runs are named: their calls and ledger entries carry an `eval`
/// purpose, so that spend on evals is never mistaken for live traffic.
///
/// - a purpose suite runs as `PURPOSE:eval` (with the purpose's policy: schema,
///   repairs, privacy, guards, retries and deadline);
/// - a `prompt:` suite (no purpose) runs as `eval`;
/// - the LLM judge runs as `eval:judge`.
public enum EvalNames {
    /// The suffix of a purpose suite's calls.
    public static let suffix = ":eval"
    /// The purpose of a `prompt:` suite's calls.
    public static let promptPurpose = "eval"
    /// The purpose of the judge's calls.
    public static let judgePurpose = "eval:judge"

    /// `triage` → `triage:eval`.
    public static func purpose(of base: String) -> String { base + suffix }

    /// `triage:eval` → `triage`; `nil` for a name that is not a purpose suite's.
    public static func basePurpose(of purpose: String) -> String? {
        guard purpose.hasSuffix(suffix), purpose.count > suffix.count else { return nil }
        return String(purpose.dropLast(suffix.count))
    }
}

extension CallPolicy {
    /// The policy of eval runs: the purpose's own (privacy, guards, schema and
    /// repairs, retries, deadline) without what would hide an answer from the
    /// eval: no degraded `fallback_response` and no human review. The cache
    /// stays: eval calls bypass it unless `sluice eval run --cache` is given.
    var forEval: CallPolicy {
        var p = self
        p.fallbackResponse = nil
        p.review = .never
        return p
    }
}

extension CallPolicies {
    /// The policy of an eval purpose: `PURPOSE:eval` for a configured `PURPOSE`
    /// gets the purpose's, `eval` and `eval:judge` the global settings; `nil` for any other name.
    func evalPolicy(for purpose: String) -> CallPolicy? {
        if purpose == EvalNames.promptPurpose || purpose == EvalNames.judgePurpose { return fallback.forEval }
        guard let base = EvalNames.basePurpose(of: purpose) else { return nil }
        return byPurpose[base]?.forEval
    }
}
