import Foundation
import SluiceCore

/// One cap a call counts against: a purpose's, team's, key's, end user's or run's
/// budget or rate window. Caps nest (purpose › team › key › end user › run); a call
/// reserves against each that applies, and a refusal names the one that refused it.
struct BudgetCap: Sendable {
    /// Whose cap it is: the `cap` member of a refusal.
    enum Owner: String, Sendable {
        case purpose, team, key, endUser = "end_user", run
    }

    /// The window the cap applies to.
    enum Period: String, Sendable {
        case day, month, minute, run
    }

    let owner: Owner
    /// The purpose, team, key, end user or run.
    let name: String
    let period: Period
    /// The cap: USD for money, requests or tokens otherwise.
    let limit: Double
    let unit: BudgetGuard.Unit
    /// The shared pool's scope, such as `budget:purpose:triage`.
    let scope: String
    /// The pool's window, such as `2026-12-06`.
    let window: String

    /// The cap in the pool's unit.
    var units: Int64 { unit == .nanoUSD ? BudgetGuard.nano(limit) : Int64(limit) }

    /// `Purpose 'triage'`, `End user 'u-42'`.
    var label: String {
        switch owner {
        case .purpose: "Purpose '\(name)'"
        case .team: "Team '\(name)'"
        case .key: "Key '\(name)'"
        case .endUser: "End user '\(name)'"
        case .run: "Run '\(name)'"
        }
    }

    /// `daily budget of $1.00`.
    var describedLimit: String {
        switch period {
        case .day: "daily budget of \(BudgetCap.usd(limit))"
        case .month: "monthly budget of \(BudgetCap.usd(limit))"
        case .run: "budget of \(BudgetCap.usd(limit))"
        case .minute: unit == .count ? "limit of \(Int(limit)) requests per minute" : "limit of \(Int(limit)) tokens per minute"
        }
    }

    /// Where the cap is set, for the "raise it" hint.
    var setting: String {
        let field = period == .month ? "monthly_budget_usd" : period == .minute ? (unit == .count ? "rpm" : "tpm") : "daily_budget_usd"
        switch owner {
        case .purpose: return "purposes.\(name).\(field)"
        case .team: return "teams.\(name).\(field)"
        case .key: return "the key's \(field) (auth.keys or /admin/keys)"
        case .endUser: return "end_users.\(field) or PUT /admin/end-users/\(name)"
        case .run: return "X-Sluice-Run-Budget-Usd"
        }
    }

    /// Seconds until the window turns (the run's never does).
    func secondsToReset(_ now: Date) -> Int? {
        switch period {
        case .day: Windows.secondsToNextDay(now)
        case .month: Windows.secondsToNextMonth(now)
        case .minute: Windows.secondsToNextMinute(now)
        case .run: nil
        }
    }

    /// Members of a refusal's error object: which cap, and the figures.
    func details(spent: Int64?, reserved: Int64?, inFlight: Int?, amount: Int64, idle: Int64? = nil) -> JSONObject {
        var d: JSONObject = ["cap": .string(owner.rawValue), "cap_name": .string(name), "cap_period": .string(period.rawValue)]
        func v(_ units: Int64) -> JSON { unit == .nanoUSD ? .double(Double(units) / 1e9) : .int(Int(units)) }
        let suffix = unit == .nanoUSD ? "_usd" : unit == .tokens ? "_tokens" : "_requests"
        d["limit" + suffix] = v(units)
        if let spent { d["spent" + suffix] = v(spent) }
        if let reserved { d["reserved" + suffix] = v(reserved) }
        if let idle { d["idle" + suffix] = v(idle) }
        if let inFlight { d["calls_in_flight"] = .int(inFlight) }
        d["this_call" + suffix] = v(amount)
        return d
    }

    /// `$1.00`, or more places for small amounts (`$0.0008`).
    static func usd(_ v: Double) -> String {
        if v >= 0.1 || v == (v * 100).rounded() / 100 { return "$" + Decimals.format(v, places: 2, trim: false) }
        return "$" + Decimals.format(v, places: v >= 0.001 ? 4 : 6, trim: true)
    }

    /// A money amount in pool units, as `usd`.
    static func usd(units: Int64) -> String { usd(Double(units) / 1e9) }
}
