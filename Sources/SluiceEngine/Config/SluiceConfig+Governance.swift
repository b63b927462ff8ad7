extension SluiceConfig {
    /// Spending caps and rate limits of a team, an end user or a key; `nil` fields do not apply.
    public struct Limits: Sendable, Equatable {
        /// Spending cap per UTC day.
        public var dailyBudgetUSD: Double?
        /// Spending cap per UTC calendar month.
        public var monthlyBudgetUSD: Double?
        /// Requests per minute.
        public var rpm: Int?
        /// Tokens (input + output) per minute.
        public var tpm: Int?

        /// The config keys of a limits mapping.
        public static let fields = ["daily_budget_usd", "monthly_budget_usd", "rpm", "tpm"]

        /// Limits; see the properties.
        public init(dailyBudgetUSD: Double? = nil, monthlyBudgetUSD: Double? = nil, rpm: Int? = nil, tpm: Int? = nil) {
            self.dailyBudgetUSD = dailyBudgetUSD
            self.monthlyBudgetUSD = monthlyBudgetUSD
            self.rpm = rpm
            self.tpm = tpm
        }

        /// Whether any limit is set.
        public var isEmpty: Bool { dailyBudgetUSD == nil && monthlyBudgetUSD == nil && rpm == nil && tpm == nil }
    }
}

extension ConfigLoader {
    /// `teams:`: a mapping of team name to limits.
    static func parseTeams(_ n: ConfigNode) throws -> [String: SluiceConfig.Limits] {
        var teams: [String: SluiceConfig.Limits] = [:]
        for (name, v) in try n.mapping() {
            guard CallContext.validName(name) else {
                throw v.error("team name '\(name)' must be 1-128 letters, digits, '_', '-', '.' or ':'")
            }
            teams[name] = try parseLimits(v, of: "team '\(name)'")
        }
        return teams
    }

    /// A limits mapping (`daily_budget_usd`, `monthly_budget_usd`, `rpm`, `tpm`), each positive.
    /// `ignoring` names other keys the mapping may hold (a key's `name`, for one).
    static func parseLimits(_ n: ConfigNode, of owner: String, ignoring: [String] = []) throws -> SluiceConfig.Limits {
        var l = SluiceConfig.Limits()
        for (k, v) in try n.mapping(allowed: SluiceConfig.Limits.fields + ignoring) {
            switch k {
            case "daily_budget_usd", "monthly_budget_usd":
                let usd = try v.double()
                guard usd > 0 else { throw v.error("\(k) must be positive for \(owner): a number of US dollars") }
                if k == "daily_budget_usd" { l.dailyBudgetUSD = usd } else { l.monthlyBudgetUSD = usd }
            case "rpm", "tpm":
                let x = try v.int()
                guard x > 0 else { throw v.error("\(k) must be positive for \(owner): a whole number per minute") }
                if k == "rpm" { l.rpm = x } else { l.tpm = x }
            default: break
            }
        }
        return l
    }
}
